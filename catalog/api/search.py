"""REST API for search over feature groups and features (/api/v1/)."""

from __future__ import annotations


def register(router) -> None:
    pass


extra_urlpatterns: list = []

"""REST API for lineage graphs and OpenLineage ingestion (/api/v1/)."""

from __future__ import annotations


def register(router) -> None:
    pass


extra_urlpatterns: list = []

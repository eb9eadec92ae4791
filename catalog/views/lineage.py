"""Lineage pages: graph fragments and owners' manual edges."""

from __future__ import annotations

urlpatterns: list = []

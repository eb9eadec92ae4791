"""Reads of feature groups for pages that are not search."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalog.models import Feature, FeatureGroup, Membership


def home_summary(*, user) -> dict:
    groups = FeatureGroup.objects.visible_to(user).live()
    memberships = Membership.objects.filter(user=user).select_related("account")
    return {
        "group_count": groups.count(),
        "account_count": groups.values("account").distinct().count(),
        "memberships": memberships,
        "recent_groups": groups.select_related("account").order_by("-aws_modified_at")[:8],
    }


def feature_groups_for_catalog(*, user) -> QuerySet[FeatureGroup]:
    return (
        FeatureGroup.objects.visible_to(user)
        .live()
        .select_related("account")
        .prefetch_related(Prefetch("features", queryset=Feature.objects.order_by("position", "name")))
        .order_by("account__name", "region", "name")
    )

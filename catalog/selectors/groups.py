"""Reads of feature groups and features for pages and the API that are not search."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from catalog.models import DescriptionEdit, Feature, FeatureGroup, Membership
from catalog.scope import visibility_scope
from catalog.selectors.access import annotate_access_level

# Rows of the schema table per page. A wide group (thousands of features)
# renders in pages of this size, filtered on the server; a group that fits
# in one page is filtered in the browser as you type.
SCHEMA_PAGE_SIZE = 500
# Columns of a group row that only search reads: its features' words and the vectors PostgreSQL
# generates from them (kilobytes for a wide group). Pages and the API leave them in the database.
GROUP_SEARCH_ONLY_FIELDS = ("feature_words", "search_vector", "name_vector", "search_lexemes")
SCHEMA_QUERY_MAX_LENGTH = 200
# Columns the schema table shows; the rest of a feature row stays in the database.
_SCHEMA_FIELDS = (
    "id",
    "uuid",
    "feature_group_id",
    "name",
    "position",
    "type",
    "collection_type",
    "collection_config",
    "description",
    "pantry_description",
    "parameters",
)


def home_summary(*, user) -> dict:
    groups = FeatureGroup.objects.visible_to(user).live()
    memberships = Membership.objects.filter(user=user).select_related("account")
    return {
        "group_count": groups.count(),
        "account_count": groups.values("account").distinct().count(),
        "memberships": memberships,
        "recent_groups": groups.select_related("account").order_by("-aws_modified_at")[:8],
    }


# ---------------------------------------------------------------------------
# One group, one feature
# ---------------------------------------------------------------------------


def feature_groups_visible(*, user, include_deleted: bool = False, scope=None) -> QuerySet[FeatureGroup]:
    """Visible groups with their account and the user's `access_level`, without features.

    `scope`: the user's `visibility_scope`, when the caller resolved it already (it is one query).
    """
    scope = scope if scope is not None else visibility_scope(user)
    groups = FeatureGroup.objects.visible_to(user, scope=scope)
    if not include_deleted:
        groups = groups.live()
    return annotate_access_level(groups.select_related("account").defer(*GROUP_SEARCH_ONLY_FIELDS), user, scope=scope)


def feature_group_get_for_user(*, user, group_uuid, scope=None) -> FeatureGroup:
    """A visible group (deleted ones too: a direct link keeps working) or 404."""
    return get_object_or_404(feature_groups_visible(user=user, include_deleted=True, scope=scope), uuid=group_uuid)


def feature_get_for_user(*, user, group_uuid, feature_name: str) -> Feature:
    """A feature of a visible group, or 404; its `feature_group` carries `access_level`."""
    return feature_of_group(
        group=feature_group_get_for_user(user=user, group_uuid=group_uuid), feature_name=feature_name
    )


def feature_of_group(*, group: FeatureGroup, feature_name: str) -> Feature:
    """A feature of a group the caller already fetched through the gate, or 404."""
    feature = get_object_or_404(Feature.objects.filter(feature_group=group), name=feature_name)
    feature.feature_group = group
    return feature


def features_visible(*, user, include_deleted: bool = False) -> QuerySet[Feature]:
    groups = FeatureGroup.objects.visible_to(user)
    if not include_deleted:
        groups = groups.live()
    return (
        Feature.objects.filter(feature_group__in=groups.values("pk"))
        .select_related("feature_group", "feature_group__account")
        .order_by("feature_group__name", "position", "name")
    )


# ---------------------------------------------------------------------------
# What the group page shows besides the group row
# ---------------------------------------------------------------------------


def feature_group_owners(*, group: FeatureGroup) -> list:
    """People with the owner role in the group's account: who to ask about it."""
    return list(
        get_user_model()
        .objects.filter(
            memberships__account_id=group.account_id, memberships__role=Membership.Role.OWNER, is_active=True
        )
        .order_by("first_name", "last_name", "username")
        .only("username", "first_name", "last_name", "email")
    )


def feature_group_schema_page(*, group: FeatureGroup, query: str = "", page: int | str | None = 1) -> Page:
    """One page of the group's features, optionally filtered by `query`.

    The first page of a group whose (filtered) features fit in one page is one query;
    otherwise two (a count and the page), three for the first page of a wide group. Each
    feature's `feature_group` is set to `group`, so links need no more queries.
    """
    features = Feature.objects.filter(feature_group=group).only(*_SCHEMA_FIELDS).order_by("position", "name")
    query = (query or "").strip()[:SCHEMA_QUERY_MAX_LENGTH]
    if query:
        features = features.filter(
            Q(name__icontains=query)
            | Q(type__iexact=query)
            | Q(collection_type__iexact=query)
            | Q(description__icontains=query)
            | Q(pantry_description__icontains=query)
        )
    # Most groups fit in one page: read one row more than a page, and if that is all there is,
    # page the list itself (the same pages, one query). Wider groups count, then read their page.
    rows = list(features[: SCHEMA_PAGE_SIZE + 1]) if str(page or 1) == "1" else None
    if rows is not None and len(rows) <= SCHEMA_PAGE_SIZE:
        result = Paginator(rows, SCHEMA_PAGE_SIZE).get_page(page)
    else:
        result = Paginator(features, SCHEMA_PAGE_SIZE).get_page(page)
    result.object_list = list(result.object_list)
    for feature in result.object_list:
        feature.feature_group = group
    return result


def description_edits_for_group(*, group: FeatureGroup, limit: int = 20) -> list[DescriptionEdit]:
    """Recent edits of the group and of its features, newest first."""
    return list(
        DescriptionEdit.objects.filter(feature_group=group)
        .select_related("editor", "feature")
        .order_by("-created_at", "-id")[:limit]
    )


def description_edits_for_feature(*, feature: Feature, limit: int = 50) -> list[DescriptionEdit]:
    return list(
        DescriptionEdit.objects.filter(feature=feature).select_related("editor").order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class OnlineStoreSummary:
    """The parts of OnlineStoreConfig a reader cares about, flattened for the page."""

    storage_type: str
    ttl: str
    kms_key_id: str


def online_store_summary(*, group: FeatureGroup) -> OnlineStoreSummary:
    config = group.online_store_config or {}
    ttl = config.get("TtlDuration") or {}
    ttl_text = f"{ttl.get('Value')} {ttl.get('Unit', '')}".strip() if ttl.get("Value") is not None else ""
    security = config.get("SecurityConfig") or {}
    return OnlineStoreSummary(
        storage_type=str(config.get("StorageType", "") or ""),
        ttl=ttl_text,
        kms_key_id=str(security.get("KmsKeyId", "") or ""),
    )

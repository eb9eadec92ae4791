"""What a user may do with each feature group: the "my access" level.

Levels are small integers so SQL can facet and sort on them:
`annotate_access_level` adds an `access_level` column computed in the
database (no per-row Python), and `ACCESS_LABELS` names each level.
"""

from __future__ import annotations

from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When
from django.db.models.functions import Greatest

from catalog.models import FeatureGroup, Membership

NONE = 0  # visible only because the user is an operator or in governance
DISCOVERABLE = 1
READ_ONLY = 2
READ_WRITE = 3
ADMIN = 4
MINE = 5

ACCESS_LABELS = {
    NONE: "Visible to governance",
    DISCOVERABLE: "Discoverable only",
    READ_ONLY: "Can read",
    READ_WRITE: "Can read and write",
    ADMIN: "Admin",
    MINE: "Mine",
}
# The "my access" facet groups levels the way a data scientist thinks of them.
ACCESS_FACETS = {
    "mine": (MINE,),
    "can_read": (READ_ONLY, READ_WRITE, ADMIN),
    "discoverable": (DISCOVERABLE, NONE),
}
ACCESS_FACET_LABELS = {"mine": "Mine", "can_read": "Can read", "discoverable": "Discoverable only"}


def annotate_access_level(queryset: QuerySet[FeatureGroup], user) -> QuerySet[FeatureGroup]:
    """Add `access_level` (see the constants above) for `user` to each group."""
    from sharing.models import Grant

    if not user.is_authenticated:
        return queryset.annotate(access_level=Value(NONE, output_field=IntegerField()))
    account_ids = Membership.objects.filter(user=user).values("account_id")
    grants = Grant.objects.active().filter(consumer_account_id__in=account_ids)
    group_grant = grants.filter(resource_type=Grant.ResourceType.FEATURE_GROUP, feature_group_id=OuterRef("pk"))
    catalog_grant = grants.filter(
        resource_type=Grant.ResourceType.CATALOG, owner_account_id=OuterRef("account_id"), region=OuterRef("region")
    )
    member = Membership.objects.filter(user=user, account_id=OuterRef("account_id"))
    permission_level = Case(
        When(Exists(group_grant.filter(permission=Grant.Permission.ADMIN)), then=Value(ADMIN)),
        When(Exists(group_grant.filter(permission=Grant.Permission.READ_WRITE)), then=Value(READ_WRITE)),
        When(Exists(group_grant.filter(permission=Grant.Permission.READ_ONLY)), then=Value(READ_ONLY)),
        When(Exists(catalog_grant), then=Value(DISCOVERABLE)),
        default=Value(NONE),
        output_field=IntegerField(),
    )
    return queryset.annotate(
        access_level=Case(
            When(Exists(member), then=Value(MINE)),
            default=Greatest(permission_level, Value(NONE)),
            output_field=IntegerField(),
        )
    )


def access_level_for(user, group: FeatureGroup) -> int:
    return (
        annotate_access_level(FeatureGroup.objects.filter(pk=group.pk), user)
        .values_list("access_level", flat=True)
        .first()
        or NONE
    )

"""What a user may do with each feature group: the "my access" level.

Levels are small integers so SQL can facet and sort on them:
`annotate_access_level` adds an `access_level` column computed in the
database (no per-row Python), and `ACCESS_LABELS` names each level.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from catalog.models import FeatureGroup
from catalog.visibility import VisibilityScope, visibility_scope

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


def annotate_access_level(queryset: QuerySet[FeatureGroup], user, *, scope: VisibilityScope | None = None):
    """Add `access_level` (see the constants above) for `user` to each group, in SQL."""
    scope = scope or visibility_scope(user)
    if not (scope.member_accounts or scope.catalogs or scope.granted_groups):
        return queryset.annotate(access_level=Value(NONE, output_field=IntegerField()))
    whens = []
    if scope.member_accounts:
        whens.append(When(account_id__in=sorted(scope.member_accounts), then=Value(MINE)))
    for groups, level in (
        (scope.admin_groups, ADMIN),
        (scope.read_write_groups, READ_WRITE),
        (scope.read_only_groups, READ_ONLY),
    ):
        if groups:
            whens.append(When(pk__in=sorted(groups), then=Value(level)))
    if scope.catalogs:
        whens.append(When(scope.catalog_q(), then=Value(DISCOVERABLE)))
    return queryset.annotate(access_level=Case(*whens, default=Value(NONE), output_field=IntegerField()))


def access_level_for(user, group: FeatureGroup) -> int:
    return (
        annotate_access_level(FeatureGroup.objects.filter(pk=group.pk), user)
        .values_list("access_level", flat=True)
        .first()
        or NONE
    )

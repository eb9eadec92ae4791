"""What a user may do with each feature group: the "my access" level, and its one vocabulary.

Levels are small integers so SQL can facet and sort on them:
`annotate_access_level` adds an `access_level` column computed in the
database (no per-row Python). `ACCESS_LEVELS` names each level once, with a
slug (URLs, the search facet's values, the API's `access_level`) and a label
(badges, the "My access" facet, the group page, the API's `access_label`),
so every place says the same thing in the same words, for every persona.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from catalog.models import FeatureGroup
from catalog.scope import VisibilityScope, visibility_scope

NONE = 0  # visible only because the user oversees the catalog (operator or governance)
DISCOVERABLE = 1
READ_ONLY = 2
READ_WRITE = 3
ADMIN = 4
MINE = 5


@dataclass(frozen=True)
class AccessLevel:
    level: int
    slug: str
    label: str


# Most access first: the order the facet lists them in when counts tie.
ACCESS_LEVELS = (
    AccessLevel(MINE, "mine", "Mine"),
    AccessLevel(ADMIN, "admin", "Admin"),
    AccessLevel(READ_WRITE, "read_write", "Can read and write"),
    AccessLevel(READ_ONLY, "read_only", "Can read"),
    AccessLevel(DISCOVERABLE, "discoverable", "Discoverable only"),
    # Operators and governance see every group; for one not shared with any of
    # their accounts this says so, in words that fit both roles.
    AccessLevel(NONE, "none", "Not shared with you"),
)
_BY_LEVEL = {a.level: a for a in ACCESS_LEVELS}
_BY_SLUG = {a.slug: a for a in ACCESS_LEVELS}
ACCESS_SLUGS = tuple(_BY_SLUG)
# Links made before each level had its own facet value said `access=can_read`.
ACCESS_SLUG_ALIASES = {"can_read": ("read_only", "read_write", "admin")}


def access_slug(level: int) -> str:
    return _BY_LEVEL.get(level, _BY_LEVEL[NONE]).slug


def access_label(level: int) -> str:
    return _BY_LEVEL.get(level, _BY_LEVEL[NONE]).label


def access_label_for_slug(slug: str) -> str:
    return _BY_SLUG[slug].label if slug in _BY_SLUG else slug


def access_level_for_slug(slug: str) -> int:
    return _BY_SLUG[slug].level


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


def access_level_of(scope: VisibilityScope, *, group_id: int | None, account_id: int, region: str) -> int:
    """`annotate_access_level` for one row already read, in Python (same order of rules).

    `group_id` None: any group of that account and region with no grant of its own.

    Search reads the candidates' account and region anyway; this saves a
    second pass over them in SQL. tests/catalog/test_access_vocabulary.py
    checks both forms agree for every persona.
    """
    if account_id in scope.member_accounts:
        return MINE
    if group_id in scope.admin_groups:
        return ADMIN
    if group_id in scope.read_write_groups:
        return READ_WRITE
    if group_id in scope.read_only_groups:
        return READ_ONLY
    if (account_id, region) in scope.catalogs:
        return DISCOVERABLE
    return NONE


def access_level_q(scope: VisibilityScope, levels: list[int]) -> Q:
    """Groups whose `annotate_access_level` is one of `levels`, as plain conditions on the row.

    The same rules in the same order, but as `IN` lists the planner has
    statistics for, where a filter on the CASE expression is estimated at
    0.5 % of the table whatever it holds (search then scanned every group
    instead of walking the popular ones). Checked against the CASE form for
    every persona and level in tests/catalog/test_search_ranking.py.
    """
    nothing = Q(pk__in=[])
    rules = [
        (MINE, Q(account_id__in=sorted(scope.member_accounts)) if scope.member_accounts else nothing),
        (ADMIN, Q(pk__in=sorted(scope.admin_groups)) if scope.admin_groups else nothing),
        (READ_WRITE, Q(pk__in=sorted(scope.read_write_groups)) if scope.read_write_groups else nothing),
        (READ_ONLY, Q(pk__in=sorted(scope.read_only_groups)) if scope.read_only_groups else nothing),
        (DISCOVERABLE, scope.catalog_q()),
    ]
    wanted = Q(pk__in=[])
    earlier = Q(pk__in=[])  # a rule applies only where no earlier rule did
    for level, condition in rules:
        if level in levels:
            wanted |= condition & ~earlier
        earlier |= condition
    if NONE in levels:
        wanted |= ~earlier
    return wanted

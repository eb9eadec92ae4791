"""Who can see which feature groups, resolved once into plain id lists.

A user's visibility is three small sets: the accounts they belong to, the
(owner account, region) catalogs shared with those accounts for discovery,
and the feature groups shared with them directly (by permission level).
Reading them takes one short query; everything that filters or ranks by
visibility then works with `IN (…)` lists instead of correlated subqueries,
which keeps both the SQL and the time Django spends compiling it small.
`FeatureGroup.objects.visible_to()` and `annotate_access_level()` are built on
this, so there is still one rule.

The gate lives in `sharing` because who sees what follows from memberships and
shares. Catalog never imports sharing: its selectors take a `scope` argument,
and when a caller passes none they ask the resolver this app registers at
start-up (`catalog.scope.scope_resolver_register`, see `sharing.apps`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.db import connection
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.db.models.lookups import In
from django.utils import timezone

from catalog.models import GOVERNANCE_GROUP, Membership, user_sees_everything
from sharing.models import Grant


@dataclass(frozen=True)
class VisibilityScope:
    everything: bool
    member_accounts: frozenset[int]
    # (owner account pk, region) pairs whose catalog is discoverable to the user.
    catalogs: frozenset[tuple[int, str]]
    admin_groups: frozenset[int]
    read_write_groups: frozenset[int]
    read_only_groups: frozenset[int]

    @property
    def granted_groups(self) -> frozenset[int]:
        return self.admin_groups | self.read_write_groups | self.read_only_groups

    def catalog_q(self, prefix: str = "") -> Q:
        """Groups in a catalog discoverable to the user: one `IN` over "account:region" keys.

        One expression instead of an OR per pair keeps the SQL short and the
        time Django spends compiling it flat, however many catalogs are shared.
        """
        if not self.catalogs:
            return Q(pk__in=[])
        key = Concat(Cast(f"{prefix}account_id", CharField()), Value(":"), f"{prefix}region", output_field=CharField())
        return Q(In(key, sorted(f"{account_id}:{region}" for account_id, region in self.catalogs)))

    def sees(self, group) -> bool:
        """Whether a feature group already in hand is visible: `visible_q`'s rule, without a query."""
        return (
            self.everything
            or group.account_id in self.member_accounts
            or group.pk in self.granted_groups
            or (group.account_id, group.region) in self.catalogs
        )

    def visible_q(self, prefix: str = "") -> Q:
        """Q over FeatureGroup fields (with `prefix`, e.g. "feature_group__")."""
        return (
            Q(**{f"{prefix}account_id__in": sorted(self.member_accounts)})
            | Q(**{f"{prefix}pk__in" if not prefix else f"{prefix}id__in": sorted(self.granted_groups)})
            | self.catalog_q(prefix)
        )


EVERYTHING = VisibilityScope(True, frozenset(), frozenset(), frozenset(), frozenset(), frozenset())
NOTHING = VisibilityScope(False, frozenset(), frozenset(), frozenset(), frozenset(), frozenset())


# Memberships, the grants they hold and the governance check in one round trip: this runs on
# every signed-in request, where three ORM queries cost ~3 ms of CPU and this one ~0.4 ms.
# `Grant.objects.active()` is the rule the grant branch spells out; a test keeps the two equal.
_SCOPE_SQL = """
SELECT 'member', m.account_id, '', NULL, '' FROM {membership} m WHERE m.user_id = %(user)s
UNION ALL
SELECT g.resource_type, g.owner_account_id, g.region, g.feature_group_id, g.permission
  FROM {grant} g
 WHERE g.status = %(active)s AND (g.expires_at IS NULL OR g.expires_at > %(now)s)
   AND g.consumer_account_id IN (SELECT m.account_id FROM {membership} m WHERE m.user_id = %(user)s)
UNION ALL
SELECT 'governance', NULL, '', NULL, ''
 WHERE %(ask_governance)s AND EXISTS (
     SELECT 1 FROM {user_groups} ug JOIN {group} ag ON ag.id = ug.group_id
      WHERE ug.user_id = %(user)s AND ag.name = %(governance)s)
"""
_MEMBER, _GOVERNANCE = "member", "governance"


def _scope_sql() -> str:
    user_groups = get_user_model().groups.through
    return _SCOPE_SQL.format(
        membership=connection.ops.quote_name(Membership._meta.db_table),
        grant=connection.ops.quote_name(Grant._meta.db_table),
        user_groups=connection.ops.quote_name(user_groups._meta.db_table),
        group=connection.ops.quote_name(AuthGroup._meta.db_table),
    )


def visibility_scope(user) -> VisibilityScope:
    """Resolve what `user` may see (one query; none for anonymous users)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    # Staff see everything without asking; a governance answer already on the user is reused.
    known = True if (user.is_superuser or user.is_staff) else getattr(user, "_pantry_is_governance", None)
    with connection.cursor() as cursor:
        cursor.execute(
            _scope_sql(),
            {
                "user": user.pk,
                "active": Grant.Status.ACTIVE,
                "now": timezone.now(),
                "ask_governance": known is None,
                "governance": GOVERNANCE_GROUP,
            },
        )
        rows = cursor.fetchall()
    member_accounts: set[int] = set()
    catalogs: set[tuple[int, str]] = set()
    levels: dict[str, set[int]] = {
        Grant.Permission.ADMIN: set(),
        Grant.Permission.READ_WRITE: set(),
        Grant.Permission.READ_ONLY: set(),
    }
    governance = False
    for kind, account_id, region, group_id, permission in rows:
        if kind == _MEMBER:
            member_accounts.add(account_id)
        elif kind == _GOVERNANCE:
            governance = True
        elif kind == Grant.ResourceType.CATALOG:
            catalogs.add((account_id, region))
        elif permission in levels:
            levels[permission].add(group_id)
    if known is None:
        user._pantry_is_governance = governance  # what user_sees_everything() would have read
    return VisibilityScope(
        everything=user_sees_everything(user),
        member_accounts=frozenset(member_accounts),
        catalogs=frozenset(catalogs),
        admin_groups=frozenset(levels[Grant.Permission.ADMIN]),
        read_write_groups=frozenset(levels[Grant.Permission.READ_WRITE]),
        read_only_groups=frozenset(levels[Grant.Permission.READ_ONLY]),
    )

"""Who can see which feature groups, resolved once into plain id lists.

A user's visibility is three small sets: the accounts they belong to, the
(owner account, region) catalogs shared with those accounts for discovery,
and the feature groups shared with them directly (by permission level).
Reading them takes two short queries; everything that filters or ranks by
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

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.db.models.lookups import In

from catalog.models import Membership, user_sees_everything
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

    def visible_q(self, prefix: str = "") -> Q:
        """Q over FeatureGroup fields (with `prefix`, e.g. "feature_group__")."""
        return (
            Q(**{f"{prefix}account_id__in": sorted(self.member_accounts)})
            | Q(**{f"{prefix}pk__in" if not prefix else f"{prefix}id__in": sorted(self.granted_groups)})
            | self.catalog_q(prefix)
        )


EVERYTHING = VisibilityScope(True, frozenset(), frozenset(), frozenset(), frozenset(), frozenset())
NOTHING = VisibilityScope(False, frozenset(), frozenset(), frozenset(), frozenset(), frozenset())


def visibility_scope(user) -> VisibilityScope:
    """Resolve what `user` may see (two queries; none for anonymous users)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    member_accounts = frozenset(Membership.objects.filter(user=user).values_list("account_id", flat=True))
    grants = Grant.objects.active().filter(consumer_account_id__in=member_accounts)
    catalogs: set[tuple[int, str]] = set()
    levels: dict[str, set[int]] = {
        Grant.Permission.ADMIN: set(),
        Grant.Permission.READ_WRITE: set(),
        Grant.Permission.READ_ONLY: set(),
    }
    for resource_type, owner_id, region, group_id, permission in grants.values_list(
        "resource_type", "owner_account_id", "region", "feature_group_id", "permission"
    ):
        if resource_type == Grant.ResourceType.CATALOG:
            catalogs.add((owner_id, region))
        elif permission in levels:
            levels[permission].add(group_id)
    return VisibilityScope(
        everything=user_sees_everything(user),
        member_accounts=member_accounts,
        catalogs=frozenset(catalogs),
        admin_groups=frozenset(levels[Grant.Permission.ADMIN]),
        read_write_groups=frozenset(levels[Grant.Permission.READ_WRITE]),
        read_only_groups=frozenset(levels[Grant.Permission.READ_ONLY]),
    )

"""People from the identity provider, and what their groups give them.

`directory_sign_in` runs at each OIDC sign-in: it finds the person by
issuer + `sub` (creating them the first time, never matching an existing
user by email), refreshes their name and email from the claims, and makes
their directory grants match the groups claim (`directory_apply`).

The rules (docs/identity.md, "Role mappings"):
- Each role mapping gives the members of one IdP group a role in one AWS
  account, or governance, or operator rights.
- Memberships the mappings give are `directory` memberships: added when a
  group gives one, changed when the role the groups give changes, removed
  when no group gives one any more.
- Memberships set by hand (`manual`) are never changed or removed by the
  directory, even when a mapping names the same account: the hand-set role
  stands. Editing a directory membership by hand turns it into a manual one.
- When several groups give roles in one account, the strongest wins:
  account admin, then feature owner, then member.
- Operator rights and governance follow the same rule: what the directory
  granted it takes away when the group goes; what an operator granted by
  hand stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import AwsAccount, Membership
from catalog.services import memberships as membership_services
from identity.models import OidcIdentity, RoleMapping
from identity.services import people
from portal.audit import audit_context_set, audit_log

User = get_user_model()

# Strongest first: the role kept when several groups name the same account.
ROLE_PRECEDENCE = [Membership.Role.ACCOUNT_ADMIN, Membership.Role.OWNER, Membership.Role.MEMBER]
MAX_GROUPS = 1000
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class DirectoryClaimsError(ValueError):
    """The identity provider's claims cannot identify a person (no `sub`)."""


@dataclass
class DirectoryGrants:
    """What a set of groups gives, computed from the role mappings."""

    accounts: dict[int, tuple[str, list[str]]] = field(default_factory=dict)  # account pk -> (role, groups)
    operator: bool = False
    governance: bool = False


def groups_from_claims(claims: dict, claim_name: str) -> list[str]:
    """The groups claim as a clean list: a list of strings or one string; anything else is no groups."""
    value = claims.get(claim_name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    groups = {g for g in value if isinstance(g, str) and 0 < len(g) <= 255 and "\x00" not in g}
    return sorted(groups)[:MAX_GROUPS]


def directory_grants(groups: Iterable[str], mappings: Iterable[RoleMapping] | None = None) -> DirectoryGrants:
    groups = set(groups)
    if mappings is None:
        mappings = RoleMapping.objects.filter(group__in=groups)
    grants = DirectoryGrants()
    by_account: dict[int, dict[str, list[str]]] = {}
    for mapping in mappings:
        if mapping.group not in groups:
            continue
        if mapping.grants == RoleMapping.Grants.OPERATOR:
            grants.operator = True
        elif mapping.grants == RoleMapping.Grants.GOVERNANCE:
            grants.governance = True
        else:
            by_account.setdefault(mapping.account_id, {}).setdefault(mapping.role, []).append(mapping.group)
    for account_id, roles in by_account.items():
        role = next(r for r in ROLE_PRECEDENCE if r in roles)
        grants.accounts[account_id] = (role, sorted(roles[role]))
    return grants


def directory_apply(
    *, identity: OidcIdentity, actor=None, note: str = "", mappings: list[RoleMapping] | None = None
) -> dict[str, int]:
    """Make one person's directory memberships and rights match their last-seen groups.

    Runs inside the caller's transaction with the identity row locked.
    Returns counts of what changed (for messages and tests).
    """
    user = identity.user
    grants = directory_grants(identity.groups, mappings)
    changes = {"added": 0, "changed": 0, "removed": 0, "rights": 0}
    existing = {
        m.account_id: m
        for m in Membership.objects.select_for_update().filter(user=user).select_related("user", "account")
    }
    for account_id, membership in existing.items():
        if membership.source != Membership.Source.DIRECTORY:
            continue  # set by hand: the directory leaves it alone
        wanted = grants.accounts.get(account_id)
        if wanted is None:
            membership_services.membership_delete(membership=membership, actor=actor, note=note)
            changes["removed"] += 1
        elif (membership.role, list(membership.directory_groups)) != wanted:
            membership_services.membership_update(
                membership=membership,
                actor=actor,
                role=wanted[0],
                source=Membership.Source.DIRECTORY,
                directory_groups=wanted[1],
                note=note,
            )
            changes["changed"] += 1
    if grants.accounts.keys() - existing.keys():
        accounts = {a.pk: a for a in AwsAccount.objects.filter(pk__in=grants.accounts.keys() - existing.keys())}
        for account_id in sorted(accounts, key=lambda pk: accounts[pk].name):
            role, groups = grants.accounts[account_id]
            membership_services.membership_create(
                user=user,
                account=accounts[account_id],
                role=role,
                actor=actor,
                source=Membership.Source.DIRECTORY,
                directory_groups=groups,
                note=note,
            )
            changes["added"] += 1

    if grants.operator and not user.is_staff:
        changes["rights"] += people.user_operator_set(
            user=user, operator=True, actor=actor, by_directory=True, note=note
        )
    elif not grants.operator and identity.directory_staff:
        changes["rights"] += people.user_operator_set(
            user=user, operator=False, actor=actor, by_directory=True, note=note
        )
    governance_now = people.is_governance(user)
    if grants.governance and not governance_now:
        changes["rights"] += people.user_governance_set(
            user=user, governance=True, actor=actor, by_directory=True, note=note
        )
    elif not grants.governance and identity.directory_governance:
        changes["rights"] += people.user_governance_set(
            user=user, governance=False, actor=actor, by_directory=True, note=note
        )
    return changes


def _username_for(claims: dict) -> str:
    """A free username from preferred_username, email or sub; never someone else's."""
    base = next(
        (claims[k] for k in ("preferred_username", "email", "sub") if isinstance(claims.get(k), str) and claims[k]),
        "user",
    )
    base = _USERNAME_UNSAFE.sub("-", base)[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _profile_from_claims(claims: dict) -> dict[str, str]:
    def text(key: str, limit: int) -> str:
        value = claims.get(key)
        return value.strip()[:limit] if isinstance(value, str) else ""

    first, last = text("given_name", 150), text("family_name", 150)
    if not (first or last):
        first = text("name", 150)
    email = text("email", 254)
    return {"first_name": first, "last_name": last, "email": email if "@" in email else ""}


def directory_sign_in(*, issuer: str, claims: dict, groups_claim: str):
    """The Pantry user for these verified claims, created on first sign-in, with grants matching the groups."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise DirectoryClaimsError("the identity provider sent no usable subject (sub) claim")
    groups = groups_from_claims(claims, groups_claim)
    profile = _profile_from_claims(claims)
    now = timezone.now()
    with transaction.atomic(), audit_context_set(via="directory"):
        identity = (
            OidcIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None:
            identity = _identity_create(issuer=issuer, subject=subject, claims=claims, profile=profile)
        user = identity.user
        changed = [k for k, v in profile.items() if getattr(user, k) != v]
        for key in changed:
            setattr(user, key, profile[key])
        if changed:
            user.save(update_fields=changed)
        identity.groups = groups
        identity.last_login_at = now
        identity.save(update_fields=["groups", "last_login_at"])
        directory_apply(identity=identity, actor=None, note=f"sign-in of {user.get_username()}")
    return user


def _identity_create(*, issuer: str, subject: str, claims: dict, profile: dict) -> OidcIdentity:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                user = User(username=_username_for(claims), **profile)
                user.set_unusable_password()  # signs in through the IdP only (an operator may set a break-glass password)
                user.save()
                identity = OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            break
        except IntegrityError:
            # The same person signing in twice at once (the other sign-in created them),
            # or someone else took the chosen username a moment ago (the next try picks another).
            existing = (
                OidcIdentity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject)
            ).first()
            if existing is not None:
                return existing
    else:
        raise DirectoryClaimsError("no free username could be chosen for this person; try again")
    audit_log(
        actor=None,
        action="user.created",
        object_type="user",
        object_id=user.get_username(),
        object_label=user.get_full_name() or user.get_username(),
        after={"username": user.get_username(), "email": user.email, "issuer": issuer, "subject": subject},
        note="first sign-in through the identity provider",
    )
    return identity


def directory_reapply_for_groups(*, groups: Iterable[str], actor, note: str) -> dict[str, int]:
    """After a mapping change: re-apply the mappings to everyone whose last-seen groups include `groups`."""
    groups = sorted({g for g in groups if g})
    totals = {"people": 0, "added": 0, "changed": 0, "removed": 0, "rights": 0}
    if not groups:
        return totals
    identities = (
        OidcIdentity.objects.select_for_update()
        .select_related("user")
        .filter(groups__overlap=groups)
        .order_by("pk")  # one lock order, so two operators' changes cannot deadlock
    )
    for identity in identities:
        mappings = list(RoleMapping.objects.filter(group__in=identity.groups))
        changes = directory_apply(identity=identity, actor=actor, note=note, mappings=mappings)
        totals["people"] += 1
        for key, value in changes.items():
            totals[key] += value
    return totals

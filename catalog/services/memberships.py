"""Who belongs to which AWS account, and in what role: every change is audited.

Operators' pages, the admin and the directory sync at OIDC sign-in all come
through here. A membership set by hand is `manual`; one given by role
mappings is `directory` (docs/identity.md says how the two interact).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import AwsAccount, Membership
from portal.audit import audit_log


def membership_snapshot(membership: Membership) -> dict:
    return {
        "user": membership.user.get_username(),
        "account_id": membership.account.account_id,
        "role": membership.role,
        "source": membership.source,
        "directory_groups": list(membership.directory_groups),
    }


def _label(membership: Membership) -> str:
    return f"{membership.user.get_username()} in {membership.account.name}"


def _audit(membership: Membership, *, actor, action: str, before: dict | None, after: dict | None, note: str = ""):
    audit_log(
        actor=actor,
        action=action,
        object_type="membership",
        object_id=f"{membership.user.get_username()}@{membership.account.account_id}",
        object_label=_label(membership),
        owner_account_id=membership.account.account_id,
        before=before,
        after=after,
        note=note,
    )


def membership_create(
    *,
    user,
    account: AwsAccount,
    role: str,
    actor,
    source: str = Membership.Source.MANUAL,
    directory_groups: list[str] | None = None,
    note: str = "",
) -> Membership:
    """Add a person to an account. A second membership of the same person in the same account is refused."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": ["Choose member, feature owner or account admin."]})
    with transaction.atomic():
        membership = Membership(
            user=user, account=account, role=role, source=source, directory_groups=sorted(directory_groups or [])
        )
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"user": [f"{user.get_username()} already belongs to {account.name}; change that membership instead."]}
            ) from exc
        _audit(
            membership,
            actor=actor,
            action="membership.created",
            before=None,
            after=membership_snapshot(membership),
            note=note,
        )
    return membership


def membership_update(
    *,
    membership: Membership,
    actor,
    role: str,
    source: str = Membership.Source.MANUAL,
    directory_groups: list[str] | None = None,
    note: str = "",
) -> Membership:
    """Change a membership's role. By hand (`source=manual`, the default) it becomes manual: sign-ins leave it alone."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": ["Choose member, feature owner or account admin."]})
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("user", "account").get(pk=membership.pk)
        before = membership_snapshot(locked)
        locked.role = role
        locked.source = source
        locked.directory_groups = sorted(directory_groups or []) if source == Membership.Source.DIRECTORY else []
        after = membership_snapshot(locked)
        if after != before:
            locked.save()
            _audit(locked, actor=actor, action="membership.updated", before=before, after=after, note=note)
    return locked


def membership_delete(*, membership: Membership, actor, note: str = "") -> None:
    with transaction.atomic():
        locked = (
            Membership.objects.select_for_update().select_related("user", "account").filter(pk=membership.pk).first()
        )
        if locked is None:
            return  # already gone: a double-submitted form ends in the same state
        before = membership_snapshot(locked)
        _audit(locked, actor=actor, action="membership.deleted", before=before, after=None, note=note)
        locked.delete()

"""Operator and governance rights, and deactivation: every change is audited.

Operators are Django staff; governance is membership of the `governance`
group (catalog.models.GOVERNANCE_GROUP). Grants made here are "by hand":
the directory sync at sign-in never takes them away (docs/identity.md).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.models import GOVERNANCE_GROUP
from identity.models import OidcIdentity
from portal.audit import audit_log

User = get_user_model()


def _audit(user, *, actor, action: str, before: dict, after: dict, note: str = "") -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type="user",
        object_id=user.get_username(),
        object_label=user.get_full_name() or user.get_username(),
        before=before,
        after=after,
        note=note,
    )


def is_governance(user) -> bool:
    return user.groups.filter(name=GOVERNANCE_GROUP).exists()


def user_operator_set(*, user, operator: bool, actor, by_directory: bool = False, note: str = "") -> bool:
    """Grant or revoke operator (staff) rights. Returns whether anything changed.

    Nobody takes their own operator rights away by hand: an operator who
    could lock themselves (and perhaps everyone) out of these pages by one
    click is asked to let another operator do it.
    """
    if not operator and not by_directory and actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot revoke your own operator rights; ask another operator.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_staff == operator:
            return False
        locked.is_staff = operator
        locked.save(update_fields=["is_staff"])
        OidcIdentity.objects.filter(user=locked).update(directory_staff=operator and by_directory)
        _audit(
            locked,
            actor=actor,
            action="user.operator_granted" if operator else "user.operator_revoked",
            before={"operator": not operator},
            after={"operator": operator, "source": "directory" if by_directory else "manual"},
            note=note,
        )
    user.is_staff = operator
    return True


def user_governance_set(*, user, governance: bool, actor, by_directory: bool = False, note: str = "") -> bool:
    """Add the person to the governance group or take them out. Returns whether anything changed."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        group, _ = Group.objects.get_or_create(name=GOVERNANCE_GROUP)
        current = locked.groups.filter(pk=group.pk).exists()
        if current == governance:
            return False
        if governance:
            locked.groups.add(group)
        else:
            locked.groups.remove(group)
        OidcIdentity.objects.filter(user=locked).update(directory_governance=governance and by_directory)
        _audit(
            locked,
            actor=actor,
            action="user.governance_granted" if governance else "user.governance_revoked",
            before={"governance": current},
            after={"governance": governance, "source": "directory" if by_directory else "manual"},
            note=note,
        )
    user._pantry_is_governance = governance
    return True


def user_active_set(*, user, active: bool, actor, note: str = "") -> bool:
    """Deactivate (no sign-in of any kind, tokens stop working) or reactivate a person."""
    if not active and actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot deactivate yourself.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active == active:
            return False
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        _audit(
            locked,
            actor=actor,
            action="user.reactivated" if active else "user.deactivated",
            before={"active": not active},
            after={"active": active},
            note=note,
        )
    user.is_active = active
    return True

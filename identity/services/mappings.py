"""Role mappings: which IdP group gives what. A change applies at once to everyone it concerns.

People whose groups (as seen at their last sign-in) include the mapping's
group get their directory memberships and rights recomputed in the same
transaction as the mapping change, so removing a mapping takes access away
now, not at each person's next sign-in.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import AwsAccount
from identity.models import RoleMapping
from identity.services.directory import directory_reapply_for_groups
from portal.audit import audit_log

NO_CHANGES = {"people": 0, "added": 0, "changed": 0, "removed": 0, "rights": 0}


def role_mapping_snapshot(mapping: RoleMapping) -> dict:
    return {
        "group": mapping.group,
        "grants": mapping.grants,
        "account_id": mapping.account.account_id if mapping.account_id else "",
        "role": mapping.role,
    }


def _clean(
    *, group: str, grants: str, account: AwsAccount | None, role: str
) -> tuple[str, str, AwsAccount | None, str]:
    group = (group or "").strip()
    errors: dict[str, list[str]] = {}
    if not group:
        errors["group"] = ["Enter the IdP group name exactly as the groups claim carries it."]
    elif len(group) > 255 or "\x00" in group:
        errors["group"] = ["A group name is at most 255 characters."]
    if grants not in RoleMapping.Grants.values:
        errors["grants"] = ["Choose what the group gives."]
    elif grants == RoleMapping.Grants.ACCOUNT_ROLE:
        if account is None:
            errors["account"] = ["Choose the AWS account the role is in."]
        if not role:
            errors["role"] = ["Choose the role in that account."]
    else:
        account, role = None, ""
    if errors:
        raise ValidationError(errors)
    return group, grants, account, role


def _duplicate_error(group: str, grants: str, account: AwsAccount | None) -> ValidationError:
    if grants == RoleMapping.Grants.ACCOUNT_ROLE:
        return ValidationError({"group": [f"“{group}” already has a role in {account.name}; change that mapping."]})
    return ValidationError({"group": [f"“{group}” already gives {RoleMapping.Grants(grants).label.split(' (')[0]}."]})


def _audit(mapping: RoleMapping, *, actor, action: str, before: dict | None, after: dict | None) -> None:
    # Written before the membership changes the mapping causes, which each
    # name the mapping in their note: the log reads in the order things happened.
    audit_log(
        actor=actor,
        action=action,
        object_type="role_mapping",
        object_id=str(mapping.uuid),
        object_label=str(mapping),
        owner_account_id=(after or before or {}).get("account_id", ""),
        before=before,
        after=after,
    )


def role_mapping_create(
    *, group: str, grants: str, account: AwsAccount | None = None, role: str = "", actor
) -> tuple[RoleMapping, dict]:
    """Add a mapping and apply it to everyone in the group. Returns the mapping and what changed."""
    group, grants, account, role = _clean(group=group, grants=grants, account=account, role=role)
    with transaction.atomic():
        mapping = RoleMapping(group=group, grants=grants, account=account, role=role)
        try:
            with transaction.atomic():
                mapping.save()
        except IntegrityError as exc:
            raise _duplicate_error(group, grants, account) from exc
        _audit(mapping, actor=actor, action="role_mapping.created", before=None, after=role_mapping_snapshot(mapping))
        totals = directory_reapply_for_groups(groups=[group], actor=actor, note=f"role mapping added: {mapping}")
    return mapping, totals


def role_mapping_update(
    *, mapping: RoleMapping, group: str, grants: str, account: AwsAccount | None = None, role: str = "", actor
) -> tuple[RoleMapping, dict]:
    group, grants, account, role = _clean(group=group, grants=grants, account=account, role=role)
    with transaction.atomic():
        locked = RoleMapping.objects.select_for_update(of=("self",)).select_related("account").get(pk=mapping.pk)
        before = role_mapping_snapshot(locked)
        old_group = locked.group
        locked.group, locked.grants, locked.account, locked.role = group, grants, account, role
        after = role_mapping_snapshot(locked)
        if after == before:
            return locked, dict(NO_CHANGES)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:
            raise _duplicate_error(group, grants, account) from exc
        _audit(locked, actor=actor, action="role_mapping.updated", before=before, after=after)
        totals = directory_reapply_for_groups(
            groups=[old_group, group], actor=actor, note=f"role mapping changed: {locked}"
        )
    return locked, totals


def role_mapping_delete(*, mapping: RoleMapping, actor) -> dict:
    with transaction.atomic():
        locked = (
            RoleMapping.objects.select_for_update(of=("self",)).select_related("account").filter(pk=mapping.pk).first()
        )
        if locked is None:
            return dict(NO_CHANGES)  # already gone: a double-submitted form ends in the same state
        before = role_mapping_snapshot(locked)
        _audit(locked, actor=actor, action="role_mapping.deleted", before=before, after=None)
        label = str(locked)
        locked.delete()
        totals = directory_reapply_for_groups(
            groups=[before["group"]], actor=actor, note=f"role mapping removed: {label}"
        )
    return totals

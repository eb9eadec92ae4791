"""Who may change what in the catalog. Views and the API both ask here."""

from __future__ import annotations

from catalog.models import AwsAccount, FeatureGroup, Membership


def can_manage_accounts(user) -> bool:
    """Registering and editing accounts is an operator's job."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def can_trigger_sync(user, account: AwsAccount) -> bool:
    if can_manage_accounts(user):
        return True
    return Membership.objects.filter(
        user=user, account=account, role__in=[Membership.Role.OWNER, Membership.Role.ACCOUNT_ADMIN]
    ).exists()


def can_edit_group(user, group: FeatureGroup) -> bool:
    """Owners of the group's account edit its Pantry description and lineage."""
    if not (user.is_authenticated and user.is_active):
        return False
    return Membership.objects.filter(user=user, account_id=group.account_id, role=Membership.Role.OWNER).exists()

"""Who may change what in the catalog. Views and the API both ask here.

The DRF permission classes below run in `APIView.initial()` and
`get_object()`, so a caller who may not act is refused before the request
body is parsed or validated: a 403 never depends on what was sent (whether an
account id already exists, whether a field is well formed).
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

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


def can_see_account_setup(user, account: AwsAccount) -> bool:
    """The external id and the trust policy to paste: operators and the account's owners and admins
    (the people who create its role), not every member."""
    if not (user.is_authenticated and user.is_active):
        return False
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


def can_record_producing(user, group: FeatureGroup) -> bool:
    """Lineage into a group (what produces it) is recorded only by people of its owning account.

    Anyone who can see a group may record *reading* it; see docs/lineage.md.
    """
    return is_account_member(user, account_pk=group.account_id)


def is_account_member(user, *, account_pk: int | None = None, account_id: str | None = None) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    members = Membership.objects.filter(user=user)
    if account_pk is not None:
        return members.filter(account_id=account_pk).exists()
    return members.filter(account__account_id=account_id).exists()


class AccountPermission(BasePermission):
    """Accounts API: anyone signed in reads (the queryset limits what); operators register and edit;
    operators and the account's owners and admins ask for a sync."""

    message = "Only operators register and edit AWS accounts."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(view, "action", None) == "create":
            return can_manage_accounts(request.user)
        return True

    def has_object_permission(self, request, view, obj: AwsAccount) -> bool:
        action = getattr(view, "action", None)
        if action == "sync":
            self.message = "Only operators and this account's owners and admins can sync it."
            return can_trigger_sync(request.user, obj)
        if action == "setup":
            self.message = "Only operators and this account's owners and admins see its role setup."
            return can_see_account_setup(request.user, obj)
        if request.method in SAFE_METHODS:
            return True
        return can_manage_accounts(request.user)


class GroupEditPermission(BasePermission):
    """Feature groups and features API: reading what the queryset shows; PATCH by the group's owners."""

    message = "Only owners of the group's account edit its descriptions."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        group = obj if isinstance(obj, FeatureGroup) else obj.feature_group
        # A group deleted in AWS is kept for its history but no longer edited.
        return not group.is_deleted and can_edit_group(request.user, group)

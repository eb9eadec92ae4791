"""Owner accounts' sharing policy, and people's notifications."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from catalog.models import AwsAccount
from portal.audit import audit_log
from sharing.models import Notification, SharingPolicy
from sharing.services.common import SharingError, is_owner

MAX_TERMS_LENGTH = 20_000
# RAM itself has no end date; Pantry ends access by disassociating. A year is a sane ceiling.
MAX_DAYS_LIMIT = 3650


def sharing_policy_update(
    *, account: AwsAccount, actor, terms_of_use: str, default_days: int, max_days: int
) -> SharingPolicy:
    if not is_owner(actor, account):
        raise PermissionDenied("Only the account's owners set its sharing policy.")
    terms_of_use = (terms_of_use or "").strip()
    if len(terms_of_use) > MAX_TERMS_LENGTH:
        raise SharingError(f"Terms of use can be at most {MAX_TERMS_LENGTH:,} characters.", "terms_of_use")
    for name, value in (("default_days", default_days), ("max_days", max_days)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DAYS_LIMIT:
            raise SharingError(f"Enter a number of days from 1 to {MAX_DAYS_LIMIT}.", name)
    if default_days > max_days:
        raise SharingError("The default duration cannot be longer than the maximum.", "default_days")
    with transaction.atomic():
        policy = SharingPolicy.objects.select_for_update().filter(account=account).first() or SharingPolicy(
            account=account
        )
        before = (
            {"terms_of_use": policy.terms_of_use, "default_days": policy.default_days, "max_days": policy.max_days}
            if policy.pk
            else {}
        )
        after = {"terms_of_use": terms_of_use, "default_days": default_days, "max_days": max_days}
        if before == after:
            return policy
        policy.terms_of_use, policy.default_days, policy.max_days = terms_of_use, default_days, max_days
        policy.save()
        audit_log(
            actor=actor,
            action="sharing_policy.update",
            object_type="account",
            object_id=str(account.uuid),
            object_label=account.name,
            owner_account_id=account.account_id,
            before=before,
            after=after,
        )
    return policy


def notifications_mark_read(*, user, uuids=None) -> int:
    """Mark the user's notifications read (all of them, or those `uuids`). Returns how many changed."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if uuids is not None:
        rows = rows.filter(uuid__in=list(uuids))
    return rows.update(read_at=timezone.now())

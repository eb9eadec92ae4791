"""Registering and editing the AWS accounts Pantry reads: one path for the page, the admin and the API.

Callers authorise (operators only, `catalog.permissions.can_manage_accounts`)
and run their form's validation first; the service re-checks the model's own
rules, saves, and queues the syncs the change calls for once it commits.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import AwsAccount, SyncRun
from catalog.services import account_audit
from catalog.services import sync as sync_services

# What an operator sets; everything else on the row is Pantry's own.
ACCOUNT_FIELDS = (
    "account_id",
    "name",
    "kind",
    "team",
    "contact_email",
    "role_arn",
    "external_id",
    "regions",
    "metadata_write_allowed",
    "sync_enabled",
    "sync_interval_minutes",
)


def _checked_save(account: AwsAccount) -> None:
    # full_clean catches a duplicate id or name with a field error; the
    # IntegrityError path covers two registrations racing past it.
    account.full_clean()
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        raise ValidationError({"account_id": ["An account with this id or name already exists."]}) from exc


def _syncs_due(account: AwsAccount, regions: list[str]) -> bool:
    # Consumer-only accounts hold no feature groups, so there is nothing to read.
    return bool(regions) and account.sync_enabled and account.is_owner


def account_register(*, registered_by, trigger: str = SyncRun.Trigger.MANUAL, **fields) -> AwsAccount:
    """Create an account and queue its first sync (every region) after commit.

    Without an `external_id`, Pantry generates one (`external_id_generate`).
    """
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"account_register() got unexpected fields: {', '.join(sorted(unknown))}")
    if not fields.get("external_id"):
        # Pantry's own, unguessable id (the model's default); the account page
        # shows it to the account's owners with the trust policy to paste.
        fields.pop("external_id", None)
    account = AwsAccount(**fields)
    with transaction.atomic():
        _checked_save(account)
        account_audit.account_registered_audit(account=account, actor=registered_by)
        if _syncs_due(account, account.regions):
            sync_services.sync_request(account=account, trigger=trigger, requested_by=registered_by)
    return account


def account_update(*, account: AwsAccount, updated_by, **changes) -> AwsAccount:
    """Change an account; regions it now syncs that it did not before get a sync queued."""
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"account_update() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = AwsAccount.objects.select_for_update().get(pk=account.pk)
        snapshot, external_id_before = account_audit.account_snapshot(locked), locked.external_id
        before = set(locked.regions) if (locked.sync_enabled and locked.is_owner) else set()
        for name, value in changes.items():
            setattr(locked, name, value)
        _checked_save(locked)
        account_audit.account_updated_audit(
            account=locked, actor=updated_by, before=snapshot, external_id_before=external_id_before
        )
        added = [r for r in locked.regions if r not in before]
        if _syncs_due(locked, added):
            for region in added:
                sync_services.sync_request(
                    account=locked, region=region, trigger=SyncRun.Trigger.MANUAL, requested_by=updated_by
                )
    for name in ACCOUNT_FIELDS:
        setattr(account, name, getattr(locked, name))
    account.updated_at = locked.updated_at
    return account

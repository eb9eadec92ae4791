"""Audit records for account registration, edits and hand-triggered syncs.

Called inside the transaction that saves the account or queues the sync
(page, admin and API alike). The external id is never copied into the log:
it is a confused-deputy guard that Pantry never shows back, so the log says
only whether it changed.
"""

from __future__ import annotations

from catalog.models import AwsAccount, SyncRun
from portal.audit import audit_log, json_safe

SNAPSHOT_FIELDS = (
    "account_id",
    "name",
    "kind",
    "team",
    "contact_email",
    "role_arn",
    "regions",
    "metadata_write_allowed",
    "sync_enabled",
    "sync_interval_minutes",
)


def account_snapshot(account: AwsAccount) -> dict:
    return {field: json_safe(getattr(account, field)) for field in SNAPSHOT_FIELDS}


def account_registered_audit(*, account: AwsAccount, actor) -> None:
    audit_log(
        actor=actor,
        action="account.registered",
        object_type="aws_account",
        object_id=account.account_id,
        object_label=account.name,
        owner_account_id=account.account_id,
        after=account_snapshot(account),
    )


def account_updated_audit(*, account: AwsAccount, actor, before: dict, external_id_before: str) -> None:
    """Record what changed (only the changed fields), or nothing when nothing did."""
    after = account_snapshot(account)
    changed = {k for k in after if after[k] != before.get(k)}
    external_id_changed = account.external_id != external_id_before
    if not changed and not external_id_changed:
        return
    audit_log(
        actor=actor,
        action="account.updated",
        object_type="aws_account",
        object_id=account.account_id,
        object_label=account.name,
        owner_account_id=account.account_id,
        before={k: before.get(k) for k in sorted(changed)},
        after={k: after[k] for k in sorted(changed)} | ({"external_id": "changed"} if external_id_changed else {}),
    )


def sync_requested_audit(*, account: AwsAccount, runs: list[SyncRun], actor, region: str | None = None) -> None:
    audit_log(
        actor=actor,
        action="sync.requested",
        object_type="aws_account",
        object_id=account.account_id,
        object_label=account.name,
        owner_account_id=account.account_id,
        after={"regions": [r.region for r in runs], "runs": [str(r.uuid) for r in runs], "region": region or "all"},
    )

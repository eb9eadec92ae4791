"""Reconcile Pantry's mirror with AWS RAM: shares, grants and invitations as AWS has them now.

AWS is the source of truth. Per account and Region (Celery beat):
- owner side: every share the account owns. A share made outside Pantry
  appears (a `Share` with `made_outside_pantry`, and grants for the registered
  accounts it names); a share deleted in AWS, or a resource or principal taken
  out of one, ends the grants that rested on it.
- receiver side: every invitation the account received, with its status
  (accepted or rejected outside Pantry, expired after 12 hours).
One account failing never stops another; the error is logged and the next run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from catalog.models import AwsAccount, FeatureGroup
from portal.aws import AwsError
from sharing.aws import CATALOG_TYPE, FEATURE_GROUP_TYPE, level_of_permission, ram_gateway
from sharing.models import Grant, Invitation, Share
from sharing.services.invitations import invitation_observed
from sharing.services.requests import live_grant_for
from sharing.services.shares import (
    _audit_grant,
    _audit_share,
    _end_grant,
    _grant_record,
    _share_gone,
    invitation_upsert,
)

logger = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    shares_seen: int = 0
    shares_new: int = 0
    shares_gone: int = 0
    grants_new: int = 0
    grants_ended: int = 0
    invitations_seen: int = 0
    errors: list[str] = field(default_factory=list)


def sharing_reconcile_all() -> ReconcileResult:
    total = ReconcileResult()
    for account in AwsAccount.objects.order_by("name"):
        result = sharing_reconcile_account(account=account)
        for name in ("shares_seen", "shares_new", "shares_gone", "grants_new", "grants_ended", "invitations_seen"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.errors += result.errors
    return total


def sharing_reconcile_account(*, account: AwsAccount) -> ReconcileResult:
    result = ReconcileResult()
    for region in account.regions or []:
        try:
            if account.is_owner:
                _reconcile_owned(account, region, result)
            _reconcile_received(account, region, result)
        except AwsError as exc:
            logger.warning("RAM reconcile of %s in %s failed: %s", account, region, exc)
            result.errors.append(f"{account.name} {region}: {exc}")
    return result


def _reconcile_owned(account: AwsAccount, region: str, result: ReconcileResult) -> None:
    gateway = ram_gateway(account, region)
    aws_shares = {s.arn: s for s in gateway.get_resource_shares(owner="SELF") if s.status == "ACTIVE"}
    result.shares_seen += len(aws_shares)
    # Shares deleted in AWS end their grants.
    with transaction.atomic():
        for share in (
            Share.objects.select_for_update()
            .select_related("owner_account", "consumer_account")
            .filter(owner_account=account, region=region)
            .exclude(status=Share.Status.DELETED)
            .exclude(resource_share_arn="")
        ):
            if share.resource_share_arn not in aws_shares:
                _share_gone(share)
                result.shares_gone += 1
    if not aws_shares:
        return
    arns = sorted(aws_shares)
    resources: dict[str, list[tuple[str, str]]] = {}
    for chunk in _chunks(arns, 100):
        for assoc in gateway.get_resource_share_associations(association_type="RESOURCE", share_arns=chunk):
            if assoc.status == "ASSOCIATED":
                resources.setdefault(assoc.share_arn, []).append((assoc.entity, _type_of(assoc.entity)))
    principals: dict[str, dict[str, str]] = {}
    for chunk in _chunks(arns, 100):
        for assoc in gateway.get_resource_share_associations(association_type="PRINCIPAL", share_arns=chunk):
            principals.setdefault(assoc.share_arn, {})[assoc.entity] = assoc.status
    accounts = {a.account_id: a for a in AwsAccount.objects.all()}
    groups = {g.arn: g for g in FeatureGroup.objects.filter(account=account, region=region)}
    for arn, record in aws_shares.items():
        levels = {}
        for permission in gateway.list_resource_share_permissions(arn):
            level = level_of_permission(permission.name)
            if level:
                levels[permission.resource_type.lower()] = level
        with transaction.atomic():
            for principal, status in principals.get(arn, {}).items():
                consumer = accounts.get(principal)
                if consumer is None or consumer.pk == account.pk:
                    continue  # an OU, the organisation, or an account Pantry does not know
                live = status in ("ASSOCIATED", "ASSOCIATING")
                share = (
                    Share.objects.select_for_update().filter(resource_share_arn=arn, consumer_account=consumer).first()
                )
                fg_level = levels.get(FEATURE_GROUP_TYPE.lower(), "read_only")
                has_groups = any(t == FEATURE_GROUP_TYPE for _, t in resources.get(arn, []))
                if share is None:
                    if not live:
                        continue
                    share = Share.objects.create(
                        owner_account=account,
                        consumer_account=consumer,
                        region=region,
                        level=fg_level if has_groups else "discover",
                        resource_share_arn=arn,
                        name=record.name,
                        status=Share.Status.ACTIVE,
                        made_outside_pantry=True,
                    )
                    _audit_share(
                        share, actor=None, action="share.create", note="Found in AWS RAM (made outside Pantry)."
                    )
                    result.shares_new += 1
                elif share.status != Share.Status.ACTIVE and live:
                    share.status = Share.Status.ACTIVE
                    share.save(update_fields=["status", "updated_at"])
                present = set()
                if live:
                    for resource_arn, resource_type in resources.get(arn, []):
                        group = groups.get(resource_arn) if resource_type == FEATURE_GROUP_TYPE else None
                        if resource_type == FEATURE_GROUP_TYPE and group is None:
                            continue  # not synced yet; the next run after a sync records it
                        level = fg_level if group is not None else "discover"
                        present.add(group.pk if group is not None else None)
                        result.grants_new += _grant_observed(
                            account, consumer, region, group, level, share, active=status == "ASSOCIATED"
                        )
                # Grants resting on this share whose resource or principal is gone end.
                for grant in (
                    Grant.objects.select_for_update(of=("self",))
                    .select_related("owner_account", "consumer_account", "feature_group")
                    .filter(resource_share_arn=arn, consumer_account=consumer, status__in=Grant.LIVE_STATUSES)
                ):
                    if grant.feature_group_id not in present:
                        _end_grant(
                            grant,
                            status=Grant.Status.REVOKED,
                            action="grant.revoke",
                            actor=None,
                            note="Removed from its RAM share in AWS.",
                            disassociate=False,
                        )
                        result.grants_ended += 1


def _grant_observed(owner, consumer, region, group, level, share, *, active: bool) -> int:
    grant = live_grant_for(consumer_account=consumer, feature_group=group, owner_account=owner, region=region)
    if grant is not None:
        changed = []
        if grant.resource_share_arn != share.resource_share_arn and (
            not grant.resource_share_arn or grant.share is None or grant.share.status == Share.Status.DELETED
        ):
            grant.share, grant.resource_share_arn = share, share.resource_share_arn
            changed += ["share", "resource_share_arn"]
        if grant.resource_share_arn == share.resource_share_arn and active and grant.status == Grant.Status.PENDING:
            grant.status = Grant.Status.ACTIVE
            changed.append("status")
            _audit_grant(grant, actor=None, action="grant.activate", note="Active in AWS RAM.")
        if changed:
            grant.save(update_fields=[*changed, "updated_at"])
        return 0
    _grant_record(
        owner_account=owner,
        consumer_account=consumer,
        region=region,
        feature_group=group,
        level=level,
        share=share,
        active=active,
        ends_on=None,
    )
    return 1


def _reconcile_received(account: AwsAccount, region: str, result: ReconcileResult) -> None:
    listed_at = timezone.now()
    records = ram_gateway(account, region).get_resource_share_invitations()
    result.invitations_seen += len(records)
    with transaction.atomic():
        for record in records:
            if record.receiver_account_id != account.account_id:
                continue
            existing = Invitation.objects.select_for_update().filter(invitation_arn=record.arn).first()
            if existing is None:
                invitation_upsert(record=record, region=region)
                continue
            if existing.share_id is None:
                existing.share = Share.objects.filter(
                    resource_share_arn=record.share_arn, consumer_account=account
                ).first()
                existing.save(update_fields=["share", "updated_at"])
            if record.status != existing.status:
                existing.receiver_account = account
                invitation_observed(invitation=existing, status=record.status)
        # A pending invitation past its time, or one AWS no longer lists at all (its share was
        # deleted): it can no longer be accepted. Invitations Pantry recorded after the listing
        # started are left for the next run.
        listed = {record.arn for record in records}
        for invitation in Invitation.objects.select_for_update().filter(
            receiver_account=account, region=region, status=Invitation.Status.PENDING
        ):
            gone = invitation.invitation_arn not in listed and (invitation.invited_at or listed_at) < listed_at
            if gone or (invitation.expires_at is not None and invitation.expires_at <= timezone.now()):
                invitation_observed(invitation=invitation, status=Invitation.Status.EXPIRED)


def _type_of(arn: str) -> str:
    return CATALOG_TYPE if ":sagemaker-catalog/" in arn else FEATURE_GROUP_TYPE


def _chunks(items: list[str], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]

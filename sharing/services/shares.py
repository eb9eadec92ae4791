"""Shares and grants: provisioning in AWS RAM, direct shares, revocation, the end date.

Pantry keeps one RAM share per (owner account, consumer account, Region, level)
and extends it. The share's row is locked (`select_for_update`) while RAM is
called for it, so two approvals at the same moment extend one share instead of
creating two; every RAM call carries a `clientToken` derived from the request
(or grant) it serves, so a retried task changes nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import AwsAccount, FeatureGroup, Membership, user_sees_everything
from portal.audit import audit_log
from portal.aws import AwsError
from sharing.aws import (
    InvitationRecord,
    RamUnknownResource,
    catalog_arn,
    client_token,
    ram_error_message,
    ram_gateway,
)
from sharing.models import AccessRequest, Grant, Invitation, Notification, Share, SharingPolicy, end_of_day
from sharing.services.common import SharingError, is_owner, notify, people_of, url_for
from sharing.services.requests import _audit as audit_request
from sharing.services.requests import _validate_ends_on, live_grant_for

logger = logging.getLogger(__name__)

ENDING_SOON = timedelta(days=3)


@dataclass(frozen=True)
class Provisioned:
    share: Share
    active: bool  # the consumer has access now (inside the organisation, or already accepted)
    invitation: Invitation | None


def _audit_share(share: Share, *, actor, action: str, after=None, note: str = "") -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type="share",
        object_id=share.resource_share_arn or str(share.uuid),
        object_label=str(share),
        owner_account_id=share.owner_account.account_id,
        consumer_account_id=share.consumer_account.account_id,
        after=after,
        note=note,
    )


def _audit_grant(grant: Grant, *, actor, action: str, before=None, after=None, note: str = "") -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type="grant",
        object_id=str(grant.uuid),
        object_label=f"{grant.resource_label} for {grant.consumer_account.name}",
        owner_account_id=grant.owner_account.account_id,
        consumer_account_id=grant.consumer_account.account_id,
        before=before,
        after=after,
        note=note,
    )


def resource_arn_of(*, feature_group: FeatureGroup | None, owner_account: AwsAccount, region: str) -> str:
    return feature_group.arn if feature_group is not None else catalog_arn(region, owner_account.account_id)


def share_name(*, consumer_account: AwsAccount, region: str, level: str) -> str:
    # RAM share names are free text; a stable name keeps a retried CreateResourceShare identical.
    return f"pantry-{slugify(consumer_account.name)}-{level.replace('_', '-')}-{region}"[:255]


def _share_row_locked(*, owner_account, consumer_account, region: str, level: str, actor) -> Share:
    key = {
        "owner_account": owner_account,
        "consumer_account": consumer_account,
        "region": region,
        "level": level,
        "made_outside_pantry": False,
    }
    live = Share.objects.exclude(status=Share.Status.DELETED)
    share = live.select_for_update().filter(**key).first()
    if share is not None:
        return share
    try:
        with transaction.atomic():
            Share.objects.create(
                **key, created_by=actor, name=share_name(consumer_account=consumer_account, region=region, level=level)
            )
    except IntegrityError:
        pass  # made by a concurrent approval a moment ago: lock that one
    return live.select_for_update().get(**key)


def _share_is_gone(gateway, share: Share) -> bool:
    found = gateway.get_resource_shares(owner="SELF", share_arns=[share.resource_share_arn])
    return not any(s.arn == share.resource_share_arn and s.status == "ACTIVE" for s in found)


def share_resources(
    *,
    owner_account: AwsAccount,
    consumer_account: AwsAccount,
    region: str,
    level: str,
    resource_arns: list[str],
    token: str,
    actor,
) -> Provisioned:
    """Create or extend the pair's share for `level` with `resource_arns`. Raises AwsError.

    Runs its own transaction: the share row stays locked while RAM is called,
    so a concurrent call for the same share waits and then extends it.
    """
    gateway = ram_gateway(owner_account, region)
    with transaction.atomic():
        share = _share_row_locked(
            owner_account=owner_account, consumer_account=consumer_account, region=region, level=level, actor=actor
        )
        extended = False
        if share.resource_share_arn:
            try:
                gateway.associate_resource_share(
                    share_arn=share.resource_share_arn,
                    client_token=client_token("pantry", token, "associate"),
                    resource_arns=resource_arns,
                    principals=[consumer_account.account_id],
                )
                extended = True
            except RamUnknownResource:
                if not _share_is_gone(gateway, share):
                    raise
                _share_gone(share)  # deleted in AWS: end it here and make a new one
                share = _share_row_locked(
                    owner_account=owner_account,
                    consumer_account=consumer_account,
                    region=region,
                    level=level,
                    actor=actor,
                )
        if not extended:
            permissions = gateway.managed_permissions()
            if level not in permissions:
                raise SharingError(f"AWS RAM in {region} offers no managed permission for {level}.")
            record = gateway.create_resource_share(
                name=share.name or share_name(consumer_account=consumer_account, region=region, level=level),
                resource_arns=resource_arns,
                principals=[consumer_account.account_id],
                permission_arns=[permissions[level]],
                client_token=client_token("pantry", token, "create"),
                tags={"managed-by": "pantry"},
            )
            share.resource_share_arn = record.arn
            share.name = record.name
            share.status = Share.Status.ACTIVE
            share.save()
            _audit_share(share, actor=actor, action="share.create", after={"resources": resource_arns, "level": level})
        else:
            _audit_share(share, actor=actor, action="share.extend", after={"resources": resource_arns})
        principal = gateway.get_resource_share_associations(
            association_type="PRINCIPAL", share_arns=[share.resource_share_arn], principal=consumer_account.account_id
        )
        active = any(a.status == "ASSOCIATED" for a in principal)
        invitation = None
        if not active:
            invitation = _pending_invitation_fetch(share)
    return Provisioned(share=share, active=active, invitation=invitation)


def _pending_invitation_fetch(share: Share) -> Invitation | None:
    """The consumer's pending invitation for `share`, read in the consumer's account (the receiver's view)."""
    try:
        records = ram_gateway(share.consumer_account, share.region).get_resource_share_invitations(
            share_arns=[share.resource_share_arn]
        )
    except AwsError as exc:  # the consumer's role may not be set up: reconcile finds it later
        logger.warning("could not read invitations of %s: %s", share.consumer_account, exc)
        return None
    pending = [
        r for r in records if r.status == "PENDING" and r.receiver_account_id == share.consumer_account.account_id
    ]
    if not pending:
        return None
    latest = max(pending, key=lambda r: r.invited_at or timezone.now())
    return invitation_upsert(record=latest, region=share.region, share=share)


def invitation_upsert(*, record: InvitationRecord, region: str, share: Share | None = None) -> Invitation | None:
    receiver = AwsAccount.objects.filter(account_id=record.receiver_account_id).first()
    if receiver is None:
        return None
    if share is None:
        share = Share.objects.filter(resource_share_arn=record.share_arn, consumer_account=receiver).first()
    invitation, _ = Invitation.objects.update_or_create(
        invitation_arn=record.arn,
        defaults={
            "share": share,
            "sender_account_id": record.sender_account_id,
            "receiver_account": receiver,
            "region": region,
            "resource_share_arn": record.share_arn,
            "resource_share_name": record.share_name,
            "status": record.status,
            "invited_at": record.invited_at,
            "expires_at": record.expires_at,
        },
    )
    return invitation


def _grant_record(
    *,
    owner_account: AwsAccount,
    consumer_account: AwsAccount,
    region: str,
    feature_group: FeatureGroup | None,
    level: str,
    share: Share,
    active: bool,
    ends_on: date | None,
    requested_by=None,
    approved_by=None,
    actor=None,
) -> Grant:
    """Create or update the live grant for this resource and consumer; move it off an older share."""
    grant = live_grant_for(
        consumer_account=consumer_account, feature_group=feature_group, owner_account=owner_account, region=region
    )
    if grant is not None:
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
    old_share = grant.share if grant is not None and grant.share_id and grant.share_id != share.pk else None
    before = {"permission": grant.permission, "status": grant.status} if grant else {}
    if grant is None:
        grant = Grant(
            owner_account=owner_account,
            consumer_account=consumer_account,
            region=region,
            resource_type=Grant.ResourceType.FEATURE_GROUP if feature_group else Grant.ResourceType.CATALOG,
            feature_group=feature_group,
        )
    grant.permission = level
    grant.share = share
    grant.resource_share_arn = share.resource_share_arn
    grant.source = Grant.Source.RAM
    grant.status = Grant.Status.ACTIVE if active else Grant.Status.PENDING
    grant.ends_on = ends_on
    grant.expires_at = end_of_day(ends_on) if ends_on else None
    grant.warned_at = None
    grant.requested_by = requested_by or grant.requested_by
    grant.approved_by = approved_by or grant.approved_by
    grant.save()
    if active and before.get("status") != Grant.Status.ACTIVE:
        _audit_grant(grant, actor=actor, action="grant.activate", before=before, after={"permission": level})
    if old_share is not None and old_share.resource_share_arn:
        # A level change: the resource now lives in the new level's share; leave the old one.
        arn = resource_arn_of(feature_group=feature_group, owner_account=owner_account, region=region)
        try:
            ram_gateway(owner_account, region).disassociate_resource_share(
                share_arn=old_share.resource_share_arn,
                client_token=client_token("pantry", grant.uuid, "move", share.pk),
                resource_arns=[arn],
            )
        except AwsError as exc:
            logger.warning("could not take %s out of %s: %s", arn, old_share.resource_share_arn, exc)
    return grant


# ---------------------------------------------------------------------------
# Provisioning an approved request (Celery)
# ---------------------------------------------------------------------------


def access_request_provision(*, request_uuid) -> AccessRequest | None:
    """Create or extend the RAM share for an approved request; idempotent (a second run does nothing)."""
    with transaction.atomic():
        access_request = (
            AccessRequest.objects.select_for_update(of=("self",))
            .select_related("owner_account", "consumer_account", "feature_group", "decided_by", "requester")
            .filter(uuid=request_uuid)
            .first()
        )
        if access_request is None:
            return None
        if access_request.state == AccessRequest.State.APPROVED:
            access_request.state = AccessRequest.State.PROVISIONING
            access_request.aws_error = ""
            access_request.save(update_fields=["state", "aws_error", "updated_at"])
        elif access_request.state != AccessRequest.State.PROVISIONING:
            return access_request
    level = access_request.effective_level
    arn = resource_arn_of(
        feature_group=access_request.feature_group,
        owner_account=access_request.owner_account,
        region=access_request.region,
    )
    try:
        outcome = share_resources(
            owner_account=access_request.owner_account,
            consumer_account=access_request.consumer_account,
            region=access_request.region,
            level=level,
            resource_arns=[arn],
            token=access_request.uuid,
            actor=access_request.decided_by,
        )
    except (AwsError, SharingError) as exc:
        message = ram_error_message(exc) if isinstance(exc, AwsError) else exc.message
        return _provision_failed(access_request, message)

    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update(of=("self",)).get(pk=access_request.pk)
        if locked.state != AccessRequest.State.PROVISIONING:
            return locked
        current = live_grant_for(
            consumer_account=access_request.consumer_account,
            feature_group=access_request.feature_group,
            owner_account=access_request.owner_account,
            region=access_request.region,
        )
        if current is not None and current.status == Grant.Status.ACTIVE and not outcome.active:
            # A change of level that waits for an invitation: the access the account has now
            # stays until the new share is accepted (then `request_grant_apply` moves it).
            grant = current
        else:
            grant = request_grant_apply(locked, share=outcome.share, active=outcome.active)
        locked.share = outcome.share
        locked.grant = grant
        locked.state = AccessRequest.State.ACTIVE if outcome.active else AccessRequest.State.INVITED
        locked.save()
        if outcome.active:
            notify(
                [access_request.requester],
                kind=Notification.Kind.ACCESS_ACTIVE,
                message=f"Your access to {access_request.resource_label} is active until {locked.ends_on:%Y-%m-%d}.",
                url=_resource_url(access_request.feature_group),
            )
        else:
            notify(
                people_of(access_request.consumer_account, "account_admin"),
                kind=Notification.Kind.INVITATION,
                message=(
                    f"{access_request.owner_account.name} shared {access_request.resource_label} with "
                    f"{access_request.consumer_account.name}: accept the AWS RAM invitation within 12 hours."
                ),
                url=url_for("sharing:invitation_inbox"),
            )
    return locked


def request_grant_apply(access_request: AccessRequest, *, share: Share, active: bool) -> Grant:
    """Record the grant an approved request gives, in `share` (inside the caller's transaction)."""
    return _grant_record(
        owner_account=access_request.owner_account,
        consumer_account=access_request.consumer_account,
        region=access_request.region,
        feature_group=access_request.feature_group,
        level=access_request.effective_level,
        share=share,
        active=active,
        ends_on=access_request.ends_on,
        requested_by=access_request.requester,
        approved_by=access_request.decided_by,
        actor=access_request.decided_by,
    )


def _resource_url(feature_group: FeatureGroup | None) -> str:
    return feature_group.get_absolute_url() if feature_group is not None else url_for("sharing:requests_mine")


def _provision_failed(access_request: AccessRequest, message: str) -> AccessRequest:
    with transaction.atomic():
        locked = (
            AccessRequest.objects.select_for_update(of=("self",))
            .select_related("owner_account", "consumer_account", "feature_group", "requester")
            .get(pk=access_request.pk)
        )
        if locked.state != AccessRequest.State.PROVISIONING:
            return locked
        locked.state = AccessRequest.State.FAILED
        locked.aws_error = message
        locked.save()
        audit_request(locked, actor=None, action="access_request.fail", after={"state": locked.state}, note=message)
        notify(
            [locked.requester, *people_of(locked.owner_account, "owner")],
            kind=Notification.Kind.REQUEST_FAILED,
            message=f"Sharing {locked.resource_label} with {locked.consumer_account.name} failed in AWS: {message}",
            url=url_for("sharing:requests_mine"),
        )
    return locked


# ---------------------------------------------------------------------------
# Direct shares by an owner
# ---------------------------------------------------------------------------


def share_create(
    *,
    actor,
    owner_account: AwsAccount,
    consumer_account: AwsAccount,
    region: str,
    level: str,
    feature_groups=(),
    catalog: bool = False,
    ends_on: date | None = None,
) -> Share:
    """Share the account's catalog and/or chosen groups with a consumer account, now (synchronously)."""
    if not is_owner(actor, owner_account):
        raise PermissionDenied("Only the account's owners share it.")
    feature_groups = list(feature_groups)
    if not feature_groups and not catalog:
        raise SharingError("Choose the catalog, feature groups, or both.", "feature_groups")
    if consumer_account is None or consumer_account.pk == owner_account.pk:
        raise SharingError("Choose another account to share with.", "consumer_account")
    if region not in owner_account.regions:
        raise SharingError(f"{owner_account.name} is not used in {region}.", "region")
    for group in feature_groups:
        if group.account_id != owner_account.pk:
            raise SharingError(f"{group.name} belongs to another account.", "feature_groups")
        if group.region != region:
            raise SharingError(f"{group.name} is in {group.region}, not {region}.", "feature_groups")
    if feature_groups and level not in (
        Grant.Permission.READ_ONLY,
        Grant.Permission.READ_WRITE,
        Grant.Permission.ADMIN,
    ):
        raise SharingError("Choose read only, read and write, or admin for the feature groups.", "level")
    policy = SharingPolicy.for_account(owner_account)
    if ends_on is not None:
        ends_on = _validate_ends_on(ends_on, policy)
    plan: list[tuple[str, list[FeatureGroup | None]]] = []
    if catalog:
        plan.append((Grant.Permission.DISCOVER, [None]))
    if feature_groups:
        plan.append((level, feature_groups))
    last: Share | None = None
    for plan_level, resources in plan:
        arns = [resource_arn_of(feature_group=g, owner_account=owner_account, region=region) for g in resources]
        # The same form sent twice is the same RAM request (RAM keeps a token for a while);
        # anything different is a different token.
        token = client_token("direct", actor.pk, consumer_account.account_id, plan_level, *sorted(arns))
        try:
            outcome = share_resources(
                owner_account=owner_account,
                consumer_account=consumer_account,
                region=region,
                level=plan_level,
                resource_arns=arns,
                token=token,
                actor=actor,
            )
        except AwsError as exc:
            raise SharingError(ram_error_message(exc)) from exc
        with transaction.atomic():
            for group in resources:
                _grant_record(
                    owner_account=owner_account,
                    consumer_account=consumer_account,
                    region=region,
                    feature_group=group,
                    level=plan_level,
                    share=outcome.share,
                    active=outcome.active,
                    ends_on=ends_on,
                    approved_by=actor,
                    actor=actor,
                )
            if not outcome.active:
                notify(
                    people_of(consumer_account, "account_admin"),
                    kind=Notification.Kind.INVITATION,
                    message=f"{owner_account.name} shared feature groups with {consumer_account.name}: "
                    "accept the AWS RAM invitation within 12 hours.",
                    url=url_for("sharing:invitation_inbox"),
                )
        last = outcome.share
    return last  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# Ending access: revoke, end date, share deleted in AWS
# ---------------------------------------------------------------------------


def _end_grant(grant: Grant, *, status: str, action: str, actor, note: str, disassociate: bool) -> None:
    """End a live grant (locked by the caller): take the resource out of its share, record, notify."""
    if disassociate and grant.resource_share_arn:
        arn = resource_arn_of(feature_group=grant.feature_group, owner_account=grant.owner_account, region=grant.region)
        try:
            ram_gateway(grant.owner_account, grant.region).disassociate_resource_share(
                share_arn=grant.resource_share_arn,
                client_token=client_token("pantry", grant.uuid, "end"),
                resource_arns=[arn],
            )
        except RamUnknownResource:
            pass  # already gone from AWS
    before = {"status": grant.status}
    grant.status = status
    grant.ended_at = timezone.now()
    grant.save()
    _audit_grant(grant, actor=actor, action=action, before=before, after={"status": status}, note=note)
    request_state = AccessRequest.State.REVOKED if status == Grant.Status.REVOKED else AccessRequest.State.EXPIRED
    requests = list(
        AccessRequest.objects.select_for_update(of=("self",)).filter(
            grant=grant,
            state__in=[AccessRequest.State.ACTIVE, AccessRequest.State.INVITED, AccessRequest.State.INVITATION_EXPIRED],
        )
    )
    for access_request in requests:
        access_request.state = request_state
        access_request.save(update_fields=["state", "updated_at"])
    recipients = [r.requester for r in requests] + list(people_of(grant.consumer_account, "account_admin"))
    if grant.requested_by_id:
        recipients.append(grant.requested_by)
    how = "was revoked" if status == Grant.Status.REVOKED else "ended"
    notify(
        recipients,
        kind=Notification.Kind.ACCESS_ENDED,
        message=f"{grant.consumer_account.name}'s access to {grant.resource_label} {how}."
        + (f" {note}" if note else ""),
        url=_resource_url(grant.feature_group),
        exclude=actor,
    )


def grant_revoke(*, grant: Grant, actor, note: str = "") -> Grant:
    if not is_owner(actor, grant.owner_account):
        raise PermissionDenied("Only the account's owners revoke its shares.")
    with transaction.atomic():
        locked = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("owner_account", "consumer_account", "feature_group")
            .get(pk=grant.pk)
        )
        if not locked.is_live:
            return locked  # revoked already (a double submit) or ended
        try:
            _end_grant(
                locked,
                status=Grant.Status.REVOKED,
                action="grant.revoke",
                actor=actor,
                note=(note or "").strip(),
                disassociate=True,
            )
        except AwsError as exc:
            raise SharingError(ram_error_message(exc)) from exc
    return locked


def grant_revoke_suggest(*, grant: Grant, actor, note: str = "") -> int:
    """Governance (or an operator) asks the owners of a grant's account to revoke it, for example an
    unused grant on the usage pages: each owner is notified with a link to the grant on the
    account's sharing page, and the request is audited. Only owners revoke. Returns how many
    owners were told; asking again about an ended grant does nothing."""
    if not user_sees_everything(actor):
        raise PermissionDenied("Only governance and operators ask owners to revoke.")
    with transaction.atomic():
        locked = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("owner_account", "consumer_account", "feature_group")
            .get(pk=grant.pk)
        )
        if not locked.is_live:
            return 0
        note = (note or "").strip()[:1000]
        owners = people_of(locked.owner_account, Membership.Role.OWNER)
        url = url_for("sharing:account_sharing", locked.owner_account.uuid)
        told = notify(
            owners,
            kind=Notification.Kind.REVOKE_SUGGESTED,
            message=(
                f"{actor.get_full_name() or actor.username} suggests revoking "
                f"{locked.consumer_account.name}'s {locked.get_permission_display().lower()} access to "
                f"{locked.resource_label}." + (f" {note}" if note else "")
            ),
            url=f"{url}#grant-{locked.uuid}" if url else "",
            exclude=actor,
        )
        _audit_grant(locked, actor=actor, action="grant.revoke_suggest", after={"owners_told": len(told)}, note=note)
    return len(told)


def grants_expire_due(*, now=None) -> int:
    """End every live grant past its end date by taking it out of its RAM share."""
    now = now or timezone.now()
    ended = 0
    for pk in Grant.objects.live().filter(expires_at__lte=now).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                grant = (
                    Grant.objects.select_for_update(of=("self",), skip_locked=True)
                    .select_related("owner_account", "consumer_account", "feature_group")
                    .filter(pk=pk, status__in=Grant.LIVE_STATUSES)
                    .first()
                )
                if grant is None:
                    continue
                _end_grant(
                    grant,
                    status=Grant.Status.EXPIRED,
                    action="grant.expire",
                    actor=None,
                    note=f"End date {grant.ends_on or grant.expires_at:%Y-%m-%d} reached.",
                    disassociate=True,
                )
                ended += 1
        except AwsError as exc:
            logger.warning("could not end grant %s in AWS (next run retries): %s", pk, exc)
    return ended


def grants_warn_ending(*, now=None) -> int:
    """Tell requesters and consumer admins, once, that access ends within three days."""
    now = now or timezone.now()
    warned = 0
    with transaction.atomic():
        grants = (
            Grant.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("owner_account", "consumer_account", "feature_group", "requested_by")
            .filter(
                status=Grant.Status.ACTIVE,
                warned_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=now + ENDING_SOON,
            )
        )
        for grant in grants:
            recipients = list(people_of(grant.consumer_account, "account_admin"))
            if grant.requested_by_id:
                recipients.append(grant.requested_by)
            notify(
                recipients,
                kind=Notification.Kind.ACCESS_ENDING,
                message=(
                    f"{grant.consumer_account.name}'s access to {grant.resource_label} ends on "
                    f"{grant.ends_on or grant.expires_at:%Y-%m-%d}; ask again to keep it."
                ),
                url=_resource_url(grant.feature_group),
            )
            grant.warned_at = now
            grant.save(update_fields=["warned_at", "updated_at"])
            warned += 1
    return warned


def _share_gone(share: Share) -> None:
    """The share no longer exists in AWS: end it and its live grants (inside the caller's transaction)."""
    share.status = Share.Status.DELETED
    share.save(update_fields=["status", "updated_at"])
    _audit_share(share, actor=None, action="share.delete", note="The share is gone from AWS RAM.")
    for grant in (
        Grant.objects.select_for_update(of=("self",))
        .select_related("owner_account", "consumer_account", "feature_group")
        .filter(share=share, status__in=Grant.LIVE_STATUSES)
    ):
        _end_grant(
            grant,
            status=Grant.Status.REVOKED,
            action="grant.revoke",
            actor=None,
            note="Its RAM share was deleted in AWS.",
            disassociate=False,
        )

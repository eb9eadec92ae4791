"""RAM invitations, the consumer account admin's side: accept, reject, re-send, expiry."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from catalog.models import AwsAccount
from portal.audit import audit_log
from portal.aws import AwsError
from sharing.aws import RamInvitationAnswered, RamInvitationExpired, client_token, ram_error_message, ram_gateway
from sharing.models import AccessRequest, Grant, Invitation, Notification
from sharing.services.common import SharingError, is_account_admin, is_owner, notify, people_of, url_for
from sharing.services.shares import _audit_grant, invitation_upsert, request_grant_apply

logger = logging.getLogger(__name__)


def _audit(invitation: Invitation, *, actor, action: str, before=None, after=None, note: str = "") -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type="invitation",
        object_id=invitation.invitation_arn,
        object_label=f"{invitation.resource_share_name or invitation.resource_share_arn} → {invitation.receiver_account.name}",
        owner_account_id=invitation.sender_account_id,
        consumer_account_id=invitation.receiver_account.account_id,
        before=before,
        after=after,
        note=note,
    )


def _lock(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("receiver_account", "share", "share__owner_account")
        .get(pk=invitation.pk)
    )


def _share_accepted(invitation: Invitation, *, actor) -> None:
    """The receiver accepted: its pending grants in the share become active, and so do their requests."""
    grants = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("owner_account", "consumer_account", "feature_group")
        .filter(
            resource_share_arn=invitation.resource_share_arn,
            consumer_account=invitation.receiver_account,
            status=Grant.Status.PENDING,
        )
    )
    for grant in grants:
        grant.status = Grant.Status.ACTIVE
        grant.save(update_fields=["status", "updated_at"])
        _audit_grant(
            grant, actor=actor, action="grant.activate", before={"status": "pending"}, after={"status": "active"}
        )
    requests = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related(
            "requester", "feature_group", "owner_account", "consumer_account", "decided_by", "share", "grant"
        )
        .filter(
            share__resource_share_arn=invitation.resource_share_arn,
            consumer_account=invitation.receiver_account,
            state__in=[AccessRequest.State.INVITED, AccessRequest.State.INVITATION_EXPIRED],
        )
    )
    for access_request in requests:
        if access_request.share is not None and (
            access_request.grant is None or access_request.grant.share_id != access_request.share_id
        ):
            # A change of level that waited for this invitation: the grant moves to this share now.
            access_request.grant = request_grant_apply(access_request, share=access_request.share, active=True)
        access_request.state = AccessRequest.State.ACTIVE
        access_request.save(update_fields=["state", "grant", "updated_at"])
        notify(
            [access_request.requester],
            kind=Notification.Kind.ACCESS_ACTIVE,
            message=f"Your access to {access_request.resource_label} is active until {access_request.ends_on:%Y-%m-%d}.",
            url=access_request.feature_group.get_absolute_url()
            if access_request.feature_group_id
            else url_for("sharing:requests_mine"),
        )


def _share_refused(invitation: Invitation, *, actor, note: str) -> None:
    for grant in (
        Grant.objects.select_for_update(of=("self",))
        .select_related("owner_account", "consumer_account", "feature_group")
        .filter(
            resource_share_arn=invitation.resource_share_arn,
            consumer_account=invitation.receiver_account,
            status=Grant.Status.PENDING,
        )
    ):
        grant.status = Grant.Status.REVOKED
        grant.ended_at = timezone.now()
        grant.save(update_fields=["status", "ended_at", "updated_at"])
        _audit_grant(grant, actor=actor, action="grant.revoke", before={"status": "pending"}, note=note)
    requests = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("requester")
        .filter(
            share__resource_share_arn=invitation.resource_share_arn,
            consumer_account=invitation.receiver_account,
            state__in=[AccessRequest.State.INVITED, AccessRequest.State.INVITATION_EXPIRED],
        )
    )
    for access_request in requests:
        access_request.state = AccessRequest.State.REJECTED
        access_request.decision_note = note
        access_request.save(update_fields=["state", "decision_note", "updated_at"])
        notify(
            [access_request.requester],
            kind=Notification.Kind.REQUEST_DECIDED,
            message=f"{invitation.receiver_account.name} declined the AWS RAM invitation for {access_request.resource_label}.",
            url=url_for("sharing:requests_mine"),
        )


def _invitation_expired(invitation: Invitation, *, actor=None) -> None:
    before = {"status": invitation.status}
    invitation.status = Invitation.Status.EXPIRED
    invitation.save(update_fields=["status", "updated_at"])
    _audit(invitation, actor=actor, action="invitation.expire", before=before, after={"status": "EXPIRED"})
    AccessRequest.objects.filter(
        share__resource_share_arn=invitation.resource_share_arn,
        consumer_account=invitation.receiver_account,
        state=AccessRequest.State.INVITED,
    ).update(state=AccessRequest.State.INVITATION_EXPIRED, updated_at=timezone.now())


def invitation_accept(*, invitation: Invitation, actor) -> Invitation:
    if not is_account_admin(actor, invitation.receiver_account):
        raise PermissionDenied("Only the receiving account's admins answer its invitations.")
    refusal = ""  # committed first, then told to the admin
    with transaction.atomic():
        locked = _lock(invitation)
        if locked.status == Invitation.Status.ACCEPTED:
            return locked  # accepted already (a double submit)
        if locked.status == Invitation.Status.REJECTED:
            raise SharingError("This invitation was rejected.")
        record = None
        if not locked.has_expired:
            try:
                record = _receiver_ram(locked).accept_resource_share_invitation(
                    invitation_arn=locked.invitation_arn, client_token=client_token("pantry-accept", locked.uuid)
                )
            except RamInvitationExpired:
                pass
            except RamInvitationAnswered as exc:
                # Answered in the AWS console or CLI first: follow AWS now, not at the next
                # reconcile; accepted there is a success here.
                if _answered_in_aws(locked, exc) == Invitation.Status.ACCEPTED:
                    return locked
                refusal = "This invitation was rejected outside Pantry (in AWS)."
            except AwsError as exc:
                raise SharingError(ram_error_message(exc)) from exc
        if record is not None:
            locked.status = record.status or Invitation.Status.ACCEPTED
            locked.answered_by = actor
            locked.save(update_fields=["status", "answered_by", "updated_at"])
            _audit(
                locked,
                actor=actor,
                action="invitation.accept",
                before={"status": "PENDING"},
                after={"status": locked.status},
            )
            _share_accepted(locked, actor=actor)
        elif not refusal and locked.status != Invitation.Status.EXPIRED:
            # Expired: recorded (and committed) before the error goes back to the admin. (With a
            # refusal, AWS's answer is followed already: _answered_in_aws.)
            _invitation_expired(locked)
    if refusal:
        raise SharingError(refusal)
    if record is None:
        raise SharingError("This invitation expired; re-send it, then accept the new one.", code="expired")
    return locked


def _answered_in_aws(invitation: Invitation, exc: AwsError) -> str:
    """The invitation's status as AWS has it, followed in Pantry (inside the caller's transaction)."""
    try:
        records = _receiver_ram(invitation).get_resource_share_invitations(share_arns=[invitation.resource_share_arn])
    except AwsError:
        raise SharingError(ram_error_message(exc)) from exc
    status = next((r.status for r in records if r.arn == invitation.invitation_arn), "")
    if status not in (Invitation.Status.ACCEPTED, Invitation.Status.REJECTED):
        raise SharingError(ram_error_message(exc)) from exc
    invitation_observed(invitation=invitation, status=status)
    return status


def invitation_reject(*, invitation: Invitation, actor) -> Invitation:
    if not is_account_admin(actor, invitation.receiver_account):
        raise PermissionDenied("Only the receiving account's admins answer its invitations.")
    accepted_in_aws = False  # committed first, then told to the admin
    with transaction.atomic():
        locked = _lock(invitation)
        if locked.status == Invitation.Status.REJECTED:
            return locked
        if locked.has_expired:
            raise SharingError("This invitation expired already.", code="expired")
        if locked.status != Invitation.Status.PENDING:
            raise SharingError(f"This invitation was {locked.get_status_display().lower()}.")
        try:
            _receiver_ram(locked).reject_resource_share_invitation(
                invitation_arn=locked.invitation_arn, client_token=client_token("pantry-reject", locked.uuid)
            )
        except RamInvitationAnswered as exc:
            if _answered_in_aws(locked, exc) == Invitation.Status.REJECTED:
                return locked
            accepted_in_aws = True
        except AwsError as exc:
            raise SharingError(ram_error_message(exc)) from exc
        if not accepted_in_aws:
            locked.status = Invitation.Status.REJECTED
            locked.answered_by = actor
            locked.save(update_fields=["status", "answered_by", "updated_at"])
            _audit(
                locked,
                actor=actor,
                action="invitation.reject",
                before={"status": "PENDING"},
                after={"status": "REJECTED"},
            )
            _share_refused(locked, actor=actor, note=f"Invitation rejected by {actor.get_username()}.")
    if accepted_in_aws:
        raise SharingError("This invitation was accepted outside Pantry (in AWS): revoke the access to end it.")
    return locked


def _region_of(invitation: Invitation) -> str:
    # arn:aws:ram:REGION:ACCOUNT:resource-share-invitation/ID
    parts = invitation.invitation_arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _receiver_ram(invitation: Invitation):
    """RAM as the invited account sees it, in the invitation's Region."""
    return ram_gateway(invitation.receiver_account, invitation.region or _region_of(invitation))


def invitation_resend(*, invitation: Invitation, actor) -> Invitation:
    """Invite the account again after the invitation expired, while the approval still holds."""
    sender = AwsAccount.objects.filter(account_id=invitation.sender_account_id).first()
    if not (is_account_admin(actor, invitation.receiver_account) or (sender is not None and is_owner(actor, sender))):
        raise PermissionDenied("Only the receiving account's admins or the sharing account's owners re-send.")
    with transaction.atomic():
        locked = _lock(invitation)
        newer = (
            Invitation.objects.filter(
                resource_share_arn=locked.resource_share_arn,
                receiver_account=locked.receiver_account,
                invited_at__gt=locked.invited_at or timezone.now(),
            )
            .exclude(pk=locked.pk)
            .order_by("-invited_at")
            .first()
        )
        if (
            newer is not None
            and newer.status in (Invitation.Status.PENDING, Invitation.Status.ACCEPTED)
            and not newer.has_expired
        ):
            return newer  # re-sent already (a double submit)
        if not locked.has_expired:
            raise SharingError("Only an expired invitation can be re-sent.")
        if locked.status != Invitation.Status.EXPIRED:
            _invitation_expired(locked)
        holds = Grant.objects.filter(
            resource_share_arn=locked.resource_share_arn,
            consumer_account=locked.receiver_account,
            status=Grant.Status.PENDING,
        ).exists()
        if sender is None or not holds:
            raise SharingError("No approval holds any more; ask for access again.")
        region = locked.region or _region_of(locked)
        try:
            ram_gateway(sender, region).associate_resource_share(
                share_arn=locked.resource_share_arn,
                client_token=client_token("pantry-resend", locked.uuid),
                principals=[locked.receiver_account.account_id],
            )
            records = ram_gateway(locked.receiver_account, region).get_resource_share_invitations(
                share_arns=[locked.resource_share_arn]
            )
        except AwsError as exc:
            raise SharingError(ram_error_message(exc)) from exc
        pending = [r for r in records if r.status == "PENDING" and r.arn != locked.invitation_arn]
        if not pending:
            raise SharingError("AWS RAM did not send a new invitation; try again in a minute.")
        fresh = invitation_upsert(
            record=max(pending, key=lambda r: r.invited_at or timezone.now()), region=region, share=locked.share
        )
        _audit(
            fresh,
            actor=actor,
            action="invitation.resend",
            before={"invitation": locked.invitation_arn},
            after={
                "invitation": fresh.invitation_arn,
                "expires_at": fresh.expires_at.isoformat() if fresh.expires_at else None,
            },
        )
        AccessRequest.objects.filter(
            share__resource_share_arn=locked.resource_share_arn,
            consumer_account=locked.receiver_account,
            state=AccessRequest.State.INVITATION_EXPIRED,
        ).update(state=AccessRequest.State.INVITED, updated_at=timezone.now())
        notify(
            people_of(locked.receiver_account, "account_admin"),
            kind=Notification.Kind.INVITATION,
            message=f"The AWS RAM invitation for {fresh.resource_share_name} was re-sent; accept it within 12 hours.",
            url=url_for("sharing:invitation_inbox"),
            exclude=actor,
        )
    return fresh


def invitations_expire_due(*, now=None) -> int:
    """Mark pending invitations past their 12 hours as expired (reconcile confirms with AWS)."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        for invitation in (
            Invitation.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("receiver_account")
            .filter(status=Invitation.Status.PENDING, expires_at__lte=now)
        ):
            _invitation_expired(invitation)
            count += 1
    return count


def invitation_observed(*, invitation: Invitation, status: str) -> None:
    """Reconcile saw the invitation in `status` in AWS: follow it (inside the caller's transaction)."""
    if invitation.status == status:
        return
    if status == Invitation.Status.ACCEPTED:
        before = invitation.status
        invitation.status = status
        invitation.save(update_fields=["status", "updated_at"])
        _audit(
            invitation,
            actor=None,
            action="invitation.accept",
            before={"status": before},
            after={"status": status},
            note="Accepted outside Pantry.",
        )
        _share_accepted(invitation, actor=None)
    elif status == Invitation.Status.REJECTED:
        invitation.status = status
        invitation.save(update_fields=["status", "updated_at"])
        _audit(
            invitation,
            actor=None,
            action="invitation.reject",
            after={"status": status},
            note="Rejected outside Pantry.",
        )
        _share_refused(invitation, actor=None, note="Invitation rejected outside Pantry.")
    elif status == Invitation.Status.EXPIRED:
        _invitation_expired(invitation)

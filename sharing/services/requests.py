"""Access requests: create, approve, reject, withdraw, retry (the people's side of the state machine).

pending → approved → provisioning → invited → active → revoked | expired
pending → rejected | withdrawn;  provisioning → failed → provisioning (retry)
invited → invitation_expired → invited (re-sent)

Every transition locks the request row (`select_for_update`) and checks the
state it is leaving, so a double-submitted approve does its work once and an
illegal transition is a `SharingError`. Authorisation comes first: a caller
who may not act gets `PermissionDenied` before anything about the input is said.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import signature
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from catalog.models import AwsAccount, FeatureGroup
from portal.audit import audit_log
from sharing.models import MAX_REASON_LENGTH, AccessRequest, Grant, Notification, SharingPolicy
from sharing.services.common import (
    SharingError,
    authorise_decision,
    is_member,
    is_owner,
    notify,
    people_of,
    url_for,
)
from sharing.visibility import visibility_scope

GROUP_LEVELS = (Grant.Permission.READ_ONLY, Grant.Permission.READ_WRITE, Grant.Permission.ADMIN)
DECISION_NOTE_MAX_LENGTH = 4096


def _audit(access_request: AccessRequest, *, actor, action: str, before=None, after=None, note: str = "") -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type="access_request",
        object_id=str(access_request.uuid),
        object_label=f"{access_request.resource_label} for {access_request.consumer_account.name}",
        owner_account_id=access_request.owner_account.account_id,
        consumer_account_id=access_request.consumer_account.account_id,
        before=before,
        after=after,
        note=note,
    )


def _level_rank(level: str) -> int:
    return Grant.LEVEL_ORDER[Grant.Permission(level)]


def live_grant_for(*, consumer_account: AwsAccount, feature_group: FeatureGroup | None, owner_account, region):
    grants = Grant.objects.live().filter(consumer_account=consumer_account)
    if feature_group is not None:
        return grants.filter(resource_type=Grant.ResourceType.FEATURE_GROUP, feature_group=feature_group).first()
    return grants.filter(resource_type=Grant.ResourceType.CATALOG, owner_account=owner_account, region=region).first()


def _validate_ends_on(ends_on, policy: SharingPolicy, *, field: str = "ends_on") -> date:
    today = timezone.localdate()
    if ends_on is None:
        return policy.default_ends_on(today)
    if not isinstance(ends_on, date):
        raise SharingError("Enter the end date as YYYY-MM-DD.", field)
    if ends_on <= today:
        raise SharingError("The end date must be after today.", field)
    latest = policy.latest_ends_on(today)
    if ends_on > latest:
        raise SharingError(
            f"{policy.account.name} shares for at most {policy.max_days} days: the latest end date is {latest:%Y-%m-%d}.",
            field,
        )
    return ends_on


def access_request_create(
    *,
    user,
    consumer_account: AwsAccount,
    level: str,
    reason: str,
    ends_on: date | None,
    terms_accepted: bool,
    feature_group: FeatureGroup | None = None,
    owner_account: AwsAccount | None = None,
    region: str | None = None,
) -> AccessRequest:
    """Ask for `level` on `feature_group` (or discoverability of `owner_account`'s catalog in `region`)."""
    # Authorise first: the requester's own account, a group they can see.
    if not is_member(user, consumer_account):
        raise PermissionDenied("You can only ask for access for an account you belong to.")
    scope = visibility_scope(user)
    if feature_group is not None:
        if not FeatureGroup.objects.visible_to(user, scope=scope).filter(pk=feature_group.pk).exists():
            raise Http404("No such feature group.")
        owner_account, region = feature_group.account, feature_group.region
    else:
        from catalog.selectors.accounts import account_pks_seen

        seen = account_pks_seen(scope=scope)
        if owner_account is None or (seen is not None and owner_account.pk not in seen):
            raise Http404("No such account.")
        if not owner_account.is_owner:
            raise SharingError(f"{owner_account.name} holds no feature groups to discover.", "owner_account")
        if region not in owner_account.regions:
            raise SharingError(f"{owner_account.name} has no catalog in that region.", "region")

    # Then validate.
    if owner_account.pk == consumer_account.pk:
        raise SharingError("This account already owns it.", "consumer_account")
    allowed = GROUP_LEVELS if feature_group is not None else (Grant.Permission.DISCOVER,)
    if level not in allowed:
        raise SharingError(
            "Choose read only, read and write, or admin."
            if feature_group is not None
            else "A catalog is shared for discovery only.",
            "level",
        )
    reason = (reason or "").strip()
    if not reason:
        raise SharingError("Say why you need access.", "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise SharingError(f"The reason can be at most {MAX_REASON_LENGTH:,} characters.", "reason")
    policy = SharingPolicy.for_account(owner_account)
    ends_on = _validate_ends_on(ends_on, policy)
    if policy.terms_of_use.strip() and not terms_accepted:
        raise SharingError(f"Accept {owner_account.name}'s terms of use to ask for access.", "terms_accepted")

    with transaction.atomic():
        # Serialise requests for the same thing from the same account (double submits).
        AwsAccount.objects.select_for_update().get(pk=consumer_account.pk)
        grant = live_grant_for(
            consumer_account=consumer_account, feature_group=feature_group, owner_account=owner_account, region=region
        )
        if grant is not None and _level_rank(grant.permission) >= _level_rank(level):
            raise SharingError(
                f"{consumer_account.name} already has {grant.get_permission_display().lower()} access"
                + (" (waiting for the invitation to be accepted)." if grant.status == Grant.Status.PENDING else "."),
                "level",
                code="already_granted",
            )
        open_request = AccessRequest.objects.filter(
            consumer_account=consumer_account,
            owner_account=owner_account,
            region=region,
            feature_group=feature_group,
            level=level,
            state__in=AccessRequest.OPEN_STATES,
        ).first()
        if open_request is not None:
            if open_request.requester_id == user.pk and open_request.state == AccessRequest.State.PENDING:
                return open_request  # the same request submitted twice
            raise SharingError(
                f"{consumer_account.name} already asked for this ({open_request.get_state_display().lower()}).",
                code="duplicate",
            )
        access_request = AccessRequest.objects.create(
            requester=user,
            consumer_account=consumer_account,
            owner_account=owner_account,
            region=region,
            feature_group=feature_group,
            level=level,
            reason=reason,
            ends_on=ends_on,
            terms_accepted=bool(terms_accepted),
        )
        _audit(
            access_request,
            actor=user,
            action="access_request.create",
            after={"level": level, "ends_on": ends_on.isoformat(), "terms_accepted": bool(terms_accepted)},
            note=reason,
        )
        notify(
            people_of(owner_account, "owner"),
            kind=Notification.Kind.REQUEST_NEW,
            message=(
                f"{user.get_full_name() or user.get_username()} asks for {access_request.get_level_display().lower()} "
                f"access to {access_request.resource_label} for {consumer_account.name}."
            ),
            url=url_for("sharing:requests_inbox"),
            exclude=user,
        )
    return access_request


def _lock(access_request: AccessRequest) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("owner_account", "consumer_account", "feature_group", "requester")
        .get(pk=access_request.pk)
    )


def access_request_approve(
    *, access_request: AccessRequest, approver, level: str | None = None, ends_on: date | None = None, note: str = ""
) -> AccessRequest:
    """Approve (optionally at a lower level or an earlier end date); provisioning follows on commit."""
    authorise_decision(approver, access_request)
    note = (note or "").strip()
    if len(note) > DECISION_NOTE_MAX_LENGTH:
        raise SharingError(f"The note can be at most {DECISION_NOTE_MAX_LENGTH:,} characters.", "note")
    with transaction.atomic():
        locked = _lock(access_request)
        if locked.state in (*AccessRequest.APPROVED_STATES, AccessRequest.State.ACTIVE) and locked.decided_by_id:
            return locked  # approved already (a double submit, or another owner at the same moment)
        if locked.state != AccessRequest.State.PENDING:
            raise SharingError(f"This request is {locked.get_state_display().lower()}; it can no longer be approved.")
        granted = level or locked.level
        if granted not in Grant.Permission.values:
            raise SharingError("Choose a level.", "level")
        if _level_rank(granted) > _level_rank(locked.level):
            raise SharingError("You can approve at the requested level or a lower one.", "level")
        if locked.feature_group_id and granted == Grant.Permission.DISCOVER:
            raise SharingError("Access to a feature group is read only, read and write, or admin.", "level")
        if ends_on is not None:
            if ends_on > locked.ends_on:
                raise SharingError("You can keep the requested end date or choose an earlier one.", "ends_on")
            if ends_on <= timezone.localdate():
                raise SharingError("The end date must be after today.", "ends_on")
        before = {"state": locked.state}
        locked.state = AccessRequest.State.APPROVED
        locked.granted_level = granted
        locked.ends_on = ends_on or locked.ends_on
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.decision_note = note
        locked.save()
        _audit(
            locked,
            actor=approver,
            action="access_request.approve",
            before=before,
            after={"state": locked.state, "level": granted, "ends_on": locked.ends_on.isoformat()},
            note=note,
        )
        notify(
            [locked.requester],
            kind=Notification.Kind.REQUEST_DECIDED,
            message=(
                f"{approver.get_full_name() or approver.get_username()} approved "
                f"{locked.get_granted_level_display().lower()} access to {locked.resource_label} until "
                f"{locked.ends_on:%Y-%m-%d}; Pantry is sharing it in AWS now."
            ),
            url=url_for("sharing:requests_mine"),
        )
        _enqueue_provisioning(locked)
    return locked


# The provisioning task, by its registered name: services name the task instead of importing
# sharing.tasks, so imports go one way only (tasks → services), as catalog's sync does.
PROVISION_TASK = "sharing.tasks.access_request_provision"


def _enqueue_provisioning(access_request: AccessRequest) -> None:
    request_uuid = str(access_request.uuid)
    # A signature runs through the registered task when this process has it (so
    # CELERY_TASK_ALWAYS_EAGER applies) and send_task otherwise.
    transaction.on_commit(lambda: signature(PROVISION_TASK, args=(request_uuid,)).delay())


def access_requests_resume_stalled(*, older_than_seconds: int | None = None) -> list[str]:
    """Queue provisioning again for approved requests no worker finished (beat, every few minutes).

    The provisioning task is acked late, but a worker killed mid-task leaves its message with the
    broker until the visibility timeout (an hour with Redis); meanwhile the request would sit in
    "approved" or "being shared in AWS". Provisioning is idempotent (row lock, state check, RAM
    clientToken from the request id), so queuing it again after PANTRY_SHARING_STALL_SECONDS
    without progress is safe, even if the first task is merely slow. Returns the requests' ids.
    """
    from django.conf import settings

    seconds = older_than_seconds if older_than_seconds is not None else settings.PANTRY_SHARING_STALL_SECONDS
    cutoff = timezone.now() - timedelta(seconds=seconds)
    stalled = list(
        AccessRequest.objects.filter(
            state__in=(AccessRequest.State.APPROVED, AccessRequest.State.PROVISIONING), updated_at__lt=cutoff
        ).values_list("uuid", flat=True)
    )
    for request_uuid in stalled:
        signature(PROVISION_TASK, args=(str(request_uuid),)).delay()
    return [str(u) for u in stalled]


def access_request_reject(*, access_request: AccessRequest, approver, note: str) -> AccessRequest:
    authorise_decision(approver, access_request)
    note = (note or "").strip()
    if not note:
        raise SharingError("Say why, so the requester knows what to change.", "note")
    if len(note) > DECISION_NOTE_MAX_LENGTH:
        raise SharingError(f"The note can be at most {DECISION_NOTE_MAX_LENGTH:,} characters.", "note")
    with transaction.atomic():
        locked = _lock(access_request)
        if locked.state == AccessRequest.State.REJECTED:
            return locked
        if locked.state != AccessRequest.State.PENDING:
            raise SharingError(f"This request is {locked.get_state_display().lower()}; it can no longer be rejected.")
        locked.state = AccessRequest.State.REJECTED
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.decision_note = note
        locked.save()
        _audit(
            locked,
            actor=approver,
            action="access_request.reject",
            before={"state": AccessRequest.State.PENDING},
            after={"state": locked.state},
            note=note,
        )
        notify(
            [locked.requester],
            kind=Notification.Kind.REQUEST_DECIDED,
            message=(
                f"{approver.get_full_name() or approver.get_username()} rejected your request for "
                f"{locked.resource_label}: {note}"
            ),
            url=url_for("sharing:requests_mine"),
        )
    return locked


def access_request_withdraw(*, access_request: AccessRequest, user) -> AccessRequest:
    if access_request.requester_id != user.pk:
        raise PermissionDenied("Only the person who asked can withdraw a request.")
    with transaction.atomic():
        locked = _lock(access_request)
        if locked.state == AccessRequest.State.WITHDRAWN:
            return locked
        if locked.state != AccessRequest.State.PENDING:
            raise SharingError(
                f"This request is {locked.get_state_display().lower()}; only a waiting request can be withdrawn."
            )
        locked.state = AccessRequest.State.WITHDRAWN
        locked.save()
        _audit(
            locked,
            actor=user,
            action="access_request.withdraw",
            before={"state": AccessRequest.State.PENDING},
            after={"state": locked.state},
        )
    return locked


def access_request_retry(*, access_request: AccessRequest, actor) -> AccessRequest:
    """A failed provisioning, again (owners of the account, or the requester)."""
    if not (is_owner(actor, access_request.owner_account) or access_request.requester_id == actor.pk):
        raise PermissionDenied("Only the account's owners or the requester can retry.")
    with transaction.atomic():
        locked = _lock(access_request)
        if locked.state == AccessRequest.State.PROVISIONING:
            return locked
        if locked.state != AccessRequest.State.FAILED:
            raise SharingError(f"This request is {locked.get_state_display().lower()}; only a failed one is retried.")
        before = {"state": locked.state, "aws_error": locked.aws_error}
        locked.state = AccessRequest.State.PROVISIONING
        locked.save()
        _audit(locked, actor=actor, action="access_request.retry", before=before, after={"state": locked.state})
        _enqueue_provisioning(locked)
    return locked

"""The whole sharing journey through a real Celery worker and the sandbox's RAM over HTTP.

dana (fraud-research, outside the organisation) asks for a group of omar's
account; omar approves; the worker shares it in RAM; carla (fraud-research's
admin) accepts the invitation; dana's account can describe the group by ARN;
omar revokes and it cannot any more. Inside the organisation the access is
active as soon as the worker is done.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import Membership
from portal.models import AuditEvent
from sharing import selectors, services
from sharing.models import AccessRequest, Grant, Invitation, Share
from tests.aws_fixtures import sandbox_feature_group, wait_until
from tests.factories import FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory
from tests.sharing import ram_fixtures
from tests.sharing.ram_fixtures import can_describe

ram_world = ram_fixtures.ram_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _ask(user, consumer, group):
    if not Grant.objects.filter(owner_account=group.account, consumer_account=consumer, resource_type="catalog"):
        GrantFactory(owner_account=group.account, consumer_account=consumer, region=group.region)  # discoverable
    return services.access_request_create(
        user=user,
        consumer_account=consumer,
        feature_group=group,
        level=Grant.Permission.READ_WRITE,
        reason="Chargeback model retraining",
        ends_on=timezone.localdate() + timedelta(days=60),
        terms_accepted=False,
    )


def _state_is(access_request, *states):
    def check():
        access_request.refresh_from_db()
        return access_request if access_request.state in states else None

    return check


def test_outside_the_organisation_request_approve_accept_read_revoke(
    ram_world, celery_worker_process, data_scientist, owner, consumer_admin
):
    request = _ask(data_scientist, ram_world.consumer, ram_world.group)
    services.access_request_approve(access_request=request, approver=owner, level=Grant.Permission.READ_ONLY)

    wait_until(_state_is(request, "invited", "failed"), timeout=90, message="provisioning by the worker")
    assert request.state == AccessRequest.State.INVITED, request.aws_error
    invitation = selectors.invitations_inbox(consumer_admin).get()
    assert invitation.status == Invitation.Status.PENDING
    assert not can_describe(ram_world, ram_world.consumer, ram_world.group.arn)

    services.invitation_accept(invitation=invitation, actor=consumer_admin)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.ACTIVE
    assert request.grant.permission == Grant.Permission.READ_ONLY  # approved at a lower level
    assert can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    how = selectors.how_to_read(data_scientist, ram_world.group)
    assert how.can_read and how.cross_account
    assert ram_world.group.arn in how.online_snippet and 'region_name="eu-west-1"' in how.online_snippet

    services.grant_revoke(grant=request.grant, actor=owner, note="Project over")
    assert not can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    actions = list(AuditEvent.objects.order_by("at", "id").values_list("action", flat=True))
    for expected in (
        "access_request.create",
        "access_request.approve",
        "share.create",
        "invitation.accept",
        "grant.activate",
        "grant.revoke",
    ):
        assert expected in actions


def test_inside_the_organisation_access_is_active_when_the_worker_is_done(ram_world, celery_worker_process, owner):
    scientist = UserFactory(username="mira")
    MembershipFactory(user=scientist, account=ram_world.member, role=Membership.Role.MEMBER)
    request = _ask(scientist, ram_world.member, ram_world.group)
    services.access_request_approve(access_request=request, approver=owner)

    wait_until(_state_is(request, "active", "failed"), timeout=90, message="provisioning by the worker")
    assert request.state == AccessRequest.State.ACTIVE, request.aws_error
    assert Invitation.objects.count() == 0
    assert can_describe(ram_world, ram_world.member, ram_world.group.arn)


def test_two_approvals_at_the_same_moment_make_one_share(ram_world, data_scientist, owner, consumer_admin):
    arns = [sandbox_feature_group(ram_world.url, ram_world.central.account_id, f"risk_group_{i}") for i in range(2)]
    groups = [
        FeatureGroupFactory(account=ram_world.central, name=f"risk_group_{i}", arn=arn) for i, arn in enumerate(arns)
    ]
    requests = [_ask(data_scientist, ram_world.consumer, group) for group in groups]
    # Approved (provisioning goes through the worker in the other tests; here both run at once).
    for access_request in requests:
        AccessRequest.objects.filter(pk=access_request.pk).update(
            state=AccessRequest.State.APPROVED, decided_by=owner, decided_at=timezone.now()
        )

    def provision(access_request):
        try:
            return services.access_request_provision(request_uuid=access_request.uuid).state
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        states = list(pool.map(provision, requests))

    assert states == ["invited", "invited"]
    assert Share.objects.count() == 1
    shares = ram_world.client(ram_world.central).get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert len(shares) == 1
    # One share, one invitation for both groups.
    invitation = selectors.invitations_inbox(consumer_admin).get()
    services.invitation_accept(invitation=invitation, actor=consumer_admin)
    assert all(can_describe(ram_world, ram_world.consumer, arn) for arn in arns)


def test_same_request_approved_twice_at_once_is_one_decision(ram_world, data_scientist, owner, monkeypatch):
    from sharing.services import requests as request_services

    queued = []
    monkeypatch.setattr(request_services, "_enqueue_provisioning", queued.append)
    second_owner = UserFactory(username="olga")
    MembershipFactory(user=second_owner, account=ram_world.central, role=Membership.Role.OWNER)
    request = _ask(data_scientist, ram_world.consumer, ram_world.group)

    def approve(approver):
        try:
            return services.access_request_approve(access_request=request, approver=approver).decided_by_id
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        deciders = set(pool.map(approve, [owner, second_owner]))

    assert len(deciders) == 1
    assert len(queued) == 1
    assert AuditEvent.objects.filter(action="access_request.approve").count() == 1


def test_ram_failure_then_retry_through_the_worker(ram_world, celery_worker_process, data_scientist, owner):
    from sandbox import control

    control.inject_fault(
        ram_world.url, "UnknownResourceException", service="ram", operation="CreateResourceShare", count=1
    )
    request = _ask(data_scientist, ram_world.consumer, ram_world.group)
    services.access_request_approve(access_request=request, approver=owner)
    wait_until(_state_is(request, "failed", "invited"), timeout=90, message="the failed provisioning")
    assert request.state == AccessRequest.State.FAILED
    assert "does not know" in request.aws_error
    assert not Share.objects.filter(status=Share.Status.ACTIVE).exists()

    services.access_request_retry(access_request=request, actor=data_scientist)
    wait_until(_state_is(request, "invited", "failed"), timeout=90, message="the retried provisioning")
    assert request.state == AccessRequest.State.INVITED, request.aws_error


def test_invitation_accepted_outside_pantry_is_picked_up_by_reconcile(
    ram_world, celery_worker_process, data_scientist, owner
):
    request = _ask(data_scientist, ram_world.consumer, ram_world.group)
    services.access_request_approve(access_request=request, approver=owner)
    wait_until(_state_is(request, "invited", "failed"), timeout=90, message="provisioning by the worker")
    invitation = Invitation.objects.get()
    # The consumer's admin accepts in the AWS console instead of Pantry.
    ram_world.client(ram_world.consumer).accept_resource_share_invitation(
        resourceShareInvitationArn=invitation.invitation_arn
    )
    from sharing import tasks

    tasks.sharing_reconcile_account.delay(str(ram_world.consumer.uuid))
    wait_until(_state_is(request, "active"), timeout=90, message="reconcile by the worker")
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert Grant.objects.get(pk=request.grant_id).status == Grant.Status.ACTIVE

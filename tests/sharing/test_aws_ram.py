"""The sharing workflow against the sandbox's RAM over HTTP: shares, invitations, the cross-account effect.

Services run in the test process here (the Celery path is in test_journey_worker.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from catalog.models import Membership
from portal.aws import AwsThrottled
from portal.models import AuditEvent
from sandbox import control
from sharing import aws, services
from sharing.models import AccessRequest, Grant, Invitation, Notification, Share
from tests.aws_stubs import StubSession
from tests.factories import FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory
from tests.sharing import ram_fixtures
from tests.sharing.ram_fixtures import can_describe

ram_world = ram_fixtures.ram_world

pytestmark = pytest.mark.django_db


def _approved(world, requester, owner, *, consumer=None, group=None, level=Grant.Permission.READ_ONLY):
    consumer = consumer or world.consumer
    group = group or world.group
    GrantFactory(owner_account=world.central, consumer_account=consumer, region="eu-west-1")  # discoverable
    request = services.access_request_create(
        user=requester,
        consumer_account=consumer,
        feature_group=group,
        level=level,
        reason="Fraud model",
        ends_on=timezone.localdate() + timedelta(days=30),
        terms_accepted=False,
    )
    return services.access_request_approve(access_request=request, approver=owner)


def test_managed_permissions_are_resolved_from_list_permissions(ram_world):
    gateway = aws.ram_gateway(ram_world.central, "eu-west-1")
    permissions = gateway.managed_permissions()
    assert set(permissions) == {"discover", "read_only", "read_write", "admin"}
    # AWS spells them with different case; the ARNs are whatever ListPermissions says.
    assert permissions["read_write"].endswith("AWSRAMPermissionSagemakerFeatureGroupReadWrite")
    assert permissions["read_only"].endswith("AWSRAMPermissionSageMakerFeatureGroupReadOnly")


def test_inside_the_organisation_access_is_active_at_once(ram_world, owner, django_capture_on_commit_callbacks):
    scientist = UserFactory(username="mira")
    MembershipFactory(user=scientist, account=ram_world.member, role=Membership.Role.MEMBER)
    assert not can_describe(ram_world, ram_world.member, ram_world.group.arn)
    with django_capture_on_commit_callbacks(execute=False):
        request = _approved(ram_world, scientist, owner, consumer=ram_world.member)

    done = services.access_request_provision(request_uuid=request.uuid)

    assert done.state == AccessRequest.State.ACTIVE
    assert done.grant.status == Grant.Status.ACTIVE
    assert done.share.resource_share_arn.startswith("arn:aws:ram:eu-west-1:111111111111:resource-share/")
    assert Invitation.objects.count() == 0
    assert can_describe(ram_world, ram_world.member, ram_world.group.arn)
    assert Notification.objects.filter(user=scientist, kind=Notification.Kind.ACCESS_ACTIVE).exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "access_request.create",
        "access_request.approve",
        "share.create",
        "grant.activate",
    }


def test_outside_the_organisation_the_admin_accepts_the_invitation(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = _approved(ram_world, data_scientist, owner)
    invited = services.access_request_provision(request_uuid=request.uuid)

    assert invited.state == AccessRequest.State.INVITED
    assert invited.grant.status == Grant.Status.PENDING
    invitation = Invitation.objects.get()
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.receiver_account == ram_world.consumer
    assert invitation.expires_at - invitation.invited_at == timedelta(hours=12)
    assert Notification.objects.filter(user=consumer_admin, kind=Notification.Kind.INVITATION).exists()
    assert not can_describe(ram_world, ram_world.consumer, ram_world.group.arn)

    services.invitation_accept(invitation=invitation, actor=consumer_admin)
    services.invitation_accept(invitation=invitation, actor=consumer_admin)  # a double submit does nothing more

    request.refresh_from_db()
    assert request.state == AccessRequest.State.ACTIVE
    assert Grant.objects.get(pk=request.grant_id).status == Grant.Status.ACTIVE
    assert can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1

    services.grant_revoke(grant=request.grant, actor=owner, note="Project ended")
    services.grant_revoke(grant=request.grant, actor=owner)  # twice: once
    request.refresh_from_db()
    assert request.state == AccessRequest.State.REVOKED
    assert not can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    assert AuditEvent.objects.filter(action="grant.revoke").count() == 1


def test_a_second_group_extends_the_same_share(ram_world, data_scientist, owner, django_capture_on_commit_callbacks):
    from tests.aws_fixtures import sandbox_feature_group

    arn = sandbox_feature_group(ram_world.url, ram_world.central.account_id, "device_risk_features")
    second = FeatureGroupFactory(account=ram_world.central, name="device_risk_features", arn=arn)
    with django_capture_on_commit_callbacks(execute=False):
        first_request = _approved(ram_world, data_scientist, owner)
        second_request = services.access_request_approve(
            access_request=services.access_request_create(
                user=data_scientist,
                consumer_account=ram_world.consumer,
                feature_group=second,
                level=Grant.Permission.READ_ONLY,
                reason="Also this",
                ends_on=None,
                terms_accepted=False,
            ),
            approver=owner,
        )
    services.access_request_provision(request_uuid=first_request.uuid)
    services.access_request_provision(request_uuid=second_request.uuid)

    assert Share.objects.count() == 1
    ram = ram_world.client(ram_world.central)
    assert len(ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]) == 1
    resources = ram.list_resources(resourceOwner="SELF")["resources"]
    assert {r["arn"] for r in resources} == {ram_world.group.arn, arn}


def test_ram_failure_leaves_the_request_failed_then_retry_succeeds(
    ram_world, data_scientist, owner, django_capture_on_commit_callbacks
):
    control.inject_fault(
        ram_world.url,
        "ResourceShareLimitExceededException",
        service="ram",
        operation="CreateResourceShare",
        message="An account can have at most 25000 resource shares in a Region.",
    )
    with django_capture_on_commit_callbacks(execute=False):
        request = _approved(ram_world, data_scientist, owner)
    failed = services.access_request_provision(request_uuid=request.uuid)

    assert failed.state == AccessRequest.State.FAILED
    assert "limit" in failed.aws_error.lower()
    assert Share.objects.filter(status=Share.Status.ACTIVE).count() == 0
    assert not Grant.objects.filter(feature_group=ram_world.group).exists()

    with django_capture_on_commit_callbacks(execute=False):
        services.access_request_retry(access_request=failed, actor=owner)
    done = services.access_request_provision(request_uuid=request.uuid)
    assert done.state == AccessRequest.State.INVITED
    assert AuditEvent.objects.filter(action__in=["access_request.fail", "access_request.retry"]).count() == 2


def test_expired_invitation_is_resent_and_then_accepted(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = _approved(ram_world, data_scientist, owner)
    services.access_request_provision(request_uuid=request.uuid)
    invitation = Invitation.objects.get()

    control.move_clock(ram_world.url, advance=timedelta(hours=13))
    services.sharing_reconcile_account(account=ram_world.consumer)

    invitation.refresh_from_db()
    request.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED
    assert request.state == AccessRequest.State.INVITATION_EXPIRED
    with pytest.raises(services.SharingError, match="expired"):
        services.invitation_accept(invitation=invitation, actor=consumer_admin)

    fresh = services.invitation_resend(invitation=invitation, actor=consumer_admin)
    assert fresh.pk != invitation.pk and fresh.status == Invitation.Status.PENDING
    request.refresh_from_db()
    assert request.state == AccessRequest.State.INVITED
    services.invitation_accept(invitation=fresh, actor=consumer_admin)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.ACTIVE
    assert can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    assert AuditEvent.objects.filter(action="invitation.expire").count() == 1
    assert AuditEvent.objects.filter(action="invitation.resend").count() == 1


def test_end_date_reached_disassociates_and_tells_the_requester(ram_world, owner, django_capture_on_commit_callbacks):
    scientist = UserFactory(username="mira")
    MembershipFactory(user=scientist, account=ram_world.member, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=False):
        request = _approved(ram_world, scientist, owner, consumer=ram_world.member)
    services.access_request_provision(request_uuid=request.uuid)
    grant = Grant.objects.get(feature_group=ram_world.group)

    assert services.grants_warn_ending(now=grant.expires_at - timedelta(days=2)) == 1
    assert services.grants_warn_ending(now=grant.expires_at - timedelta(days=1)) == 0
    assert services.grants_expire_due(now=grant.expires_at + timedelta(minutes=1)) == 1

    grant.refresh_from_db()
    request.refresh_from_db()
    assert grant.status == Grant.Status.EXPIRED
    assert request.state == AccessRequest.State.EXPIRED
    assert not can_describe(ram_world, ram_world.member, ram_world.group.arn)
    kinds = set(Notification.objects.filter(user=scientist).values_list("kind", flat=True))
    assert {Notification.Kind.ACCESS_ENDING, Notification.Kind.ACCESS_ENDED} <= kinds


def test_reconcile_picks_up_a_share_made_in_aws_and_ends_it_when_deleted(ram_world):
    ram = ram_world.client(ram_world.central)
    permission = aws.ram_gateway(ram_world.central, "eu-west-1").managed_permissions()["read_only"]
    made = ram.create_resource_share(
        name="made-in-the-console",
        resourceArns=[ram_world.group.arn],
        principals=[ram_world.member.account_id],
        permissionArns=[permission],
    )["resourceShare"]

    result = services.sharing_reconcile_all()

    # Accounts of the persona organisation without a role in the sandbox fail alone; the rest go on.
    assert {error.split(" ")[0] for error in result.errors} == {"payments-ml", "sandbox-lab"}
    share = Share.objects.get(resource_share_arn=made["resourceShareArn"])
    assert share.made_outside_pantry and share.consumer_account == ram_world.member
    grant = Grant.objects.get(feature_group=ram_world.group, consumer_account=ram_world.member)
    assert grant.status == Grant.Status.ACTIVE and grant.permission == Grant.Permission.READ_ONLY

    ram.delete_resource_share(resourceShareArn=made["resourceShareArn"])
    services.sharing_reconcile_all()
    grant.refresh_from_db()
    assert grant.status == Grant.Status.REVOKED
    assert Share.objects.get(pk=share.pk).status == Share.Status.DELETED


def test_gateway_maps_ram_errors():
    session = StubSession("ram")
    gateway = aws.RamGateway(session)
    cases = [
        ("ResourceShareLimitExceededException", aws.RamLimitExceeded, "limit"),
        ("UnknownResourceException", aws.RamUnknownResource, "does not know"),
        ("ResourceShareInvitationExpiredException", aws.RamInvitationExpired, "expired"),
        ("IdempotentParameterMismatchException", aws.RamIdempotencyMismatch, "other details"),
        ("ThrottlingException", AwsThrottled, "throttling"),
    ]
    with session.stubber as stub:
        for code, _, _ in cases:
            stub.add_client_error("accept_resource_share_invitation", service_error_code=code, service_message=code)
        for _, cls, phrase in cases:
            with pytest.raises(cls) as caught:
                gateway.accept_resource_share_invitation(
                    invitation_arn="arn:aws:ram:eu-west-1:111111111111:resource-share-invitation/x", client_token="t"
                )
            assert phrase in aws.ram_error_message(caught.value).lower()


def test_client_token_is_stable_and_short():
    token = aws.client_token("pantry", "8d1f0a8e-4c7b-4a0b-9f43-2f4d5f9d7a11", "associate-and-more-words")
    assert token == aws.client_token("pantry", "8d1f0a8e-4c7b-4a0b-9f43-2f4d5f9d7a11", "associate-and-more-words")
    assert len(token) <= 64


def test_owner_shares_the_catalog_and_a_group_directly_and_the_consumer_finds_and_reads_them(ram_world, owner):
    scientist_account = ram_world.member
    search = ram_world.client(scientist_account, "sagemaker")

    def found() -> set[str]:
        results = search.search(Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount")["Results"]
        return {r["FeatureGroup"]["FeatureGroupArn"] for r in results}

    assert ram_world.group.arn not in found()
    share = services.share_create(
        actor=owner,
        owner_account=ram_world.central,
        consumer_account=scientist_account,
        region="eu-west-1",
        level=Grant.Permission.READ_ONLY,
        feature_groups=[ram_world.group],
        catalog=True,
    )

    assert share.level == Grant.Permission.READ_ONLY
    assert Share.objects.filter(consumer_account=scientist_account).count() == 2  # catalog + read-only
    levels = set(Grant.objects.live().filter(consumer_account=scientist_account).values_list("permission", flat=True))
    assert levels == {Grant.Permission.DISCOVER, Grant.Permission.READ_ONLY}
    assert ram_world.group.arn in found()
    assert can_describe(ram_world, scientist_account, ram_world.group.arn)


def test_sharing_a_group_of_another_account_is_refused(ram_world, owner, org):
    other = FeatureGroupFactory(account=org.team, region="eu-west-1")
    with pytest.raises(services.SharingError, match="another account"):
        services.share_create(
            actor=owner,
            owner_account=ram_world.central,
            consumer_account=ram_world.member,
            region="eu-west-1",
            level=Grant.Permission.READ_ONLY,
            feature_groups=[other],
        )
    assert not Share.objects.exists()


def test_a_higher_level_outside_the_organisation_keeps_the_current_access_until_accepted(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = _approved(ram_world, data_scientist, owner)
    services.access_request_provision(request_uuid=first.uuid)
    services.invitation_accept(invitation=Invitation.objects.get(), actor=consumer_admin)
    with django_capture_on_commit_callbacks(execute=False):
        upgrade = services.access_request_approve(
            access_request=services.access_request_create(
                user=data_scientist,
                consumer_account=ram_world.consumer,
                feature_group=ram_world.group,
                level=Grant.Permission.READ_WRITE,
                reason="Now we write labels back",
                ends_on=None,
                terms_accepted=False,
            ),
            approver=owner,
        )
    services.access_request_provision(request_uuid=upgrade.uuid)

    grant = Grant.objects.live().get(feature_group=ram_world.group, consumer_account=ram_world.consumer)
    assert (grant.status, grant.permission) == (Grant.Status.ACTIVE, Grant.Permission.READ_ONLY)
    assert can_describe(ram_world, ram_world.consumer, ram_world.group.arn)

    services.invitation_accept(invitation=Invitation.objects.get(status="PENDING"), actor=consumer_admin)

    grant = Grant.objects.live().get(feature_group=ram_world.group, consumer_account=ram_world.consumer)
    assert (grant.status, grant.permission) == (Grant.Status.ACTIVE, Grant.Permission.READ_WRITE)
    upgrade.refresh_from_db()
    assert upgrade.state == AccessRequest.State.ACTIVE and upgrade.grant_id == grant.pk
    assert can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    # The group left the read-only share for the read-write one.
    ram = ram_world.client(ram_world.central)
    by_share = {}
    for resource in ram.list_resources(resourceOwner="SELF")["resources"]:
        by_share.setdefault(resource["resourceShareArn"], []).append(resource["arn"])
    assert by_share == {grant.resource_share_arn: [ram_world.group.arn]}


def test_the_same_direct_share_sent_twice_is_one_share_and_the_token_guards_ram(ram_world, owner):
    def share():
        return services.share_create(
            actor=owner,
            owner_account=ram_world.central,
            consumer_account=ram_world.member,
            region="eu-west-1",
            level=Grant.Permission.READ_ONLY,
            feature_groups=[ram_world.group],
        )

    assert share().pk == share().pk
    ram = ram_world.client(ram_world.central)
    assert len(ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]) == 1
    # RAM's own guard: the same clientToken with other parameters is refused.
    gateway = aws.ram_gateway(ram_world.central, "eu-west-1")
    permission = gateway.managed_permissions()["read_only"]
    gateway.create_resource_share(
        name="once",
        resource_arns=[ram_world.group.arn],
        principals=[],
        permission_arns=[permission],
        client_token="t-1",
    )
    with pytest.raises(aws.RamIdempotencyMismatch):
        gateway.create_resource_share(
            name="twice",
            resource_arns=[ram_world.group.arn],
            principals=[],
            permission_arns=[permission],
            client_token="t-1",
        )


def test_consumer_admin_rejects_the_invitation_and_the_request_is_told(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request = _approved(ram_world, data_scientist, owner)
    services.access_request_provision(request_uuid=request.uuid)
    invitation = Invitation.objects.get()
    with pytest.raises(PermissionDenied):
        services.invitation_reject(invitation=invitation, actor=data_scientist)

    services.invitation_reject(invitation=invitation, actor=consumer_admin)

    request.refresh_from_db()
    assert request.state == AccessRequest.State.REJECTED
    assert Grant.objects.get(pk=request.grant_id).status == Grant.Status.REVOKED
    assert not can_describe(ram_world, ram_world.consumer, ram_world.group.arn)
    status = ram_world.client(ram_world.consumer).get_resource_share_invitations()["resourceShareInvitations"][0]
    assert status["status"] == "REJECTED"


def test_a_pending_invitation_aws_no_longer_lists_is_expired_by_reconcile(ram_world):
    gone = Invitation.objects.create(
        invitation_arn="arn:aws:ram:eu-west-1:111111111111:resource-share-invitation/gone",
        sender_account_id="111111111111",
        receiver_account=ram_world.consumer,
        region="eu-west-1",
        resource_share_arn="arn:aws:ram:eu-west-1:111111111111:resource-share/gone",
        invited_at=timezone.now() - timedelta(hours=1),
        expires_at=timezone.now() + timedelta(hours=11),
    )
    services.sharing_reconcile_account(account=ram_world.consumer)
    gone.refresh_from_db()
    assert gone.status == Invitation.Status.EXPIRED


def _invited_then_answered_in_aws(ram_world, data_scientist, owner, capture, answer: str):
    """An approved request provisioned (the consumer invited), then answered by its admin in AWS."""
    with capture(execute=False):
        request = _approved(ram_world, data_scientist, owner)
    services.access_request_provision(request_uuid=request.uuid)
    invitation = Invitation.objects.get()
    answer_call = getattr(ram_world.client(ram_world.consumer), f"{answer}_resource_share_invitation")
    answer_call(resourceShareInvitationArn=invitation.invitation_arn)
    return request, invitation


def test_accepting_an_invitation_already_accepted_in_aws_activates_the_access(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    """The admin accepted in the AWS console (or CLI) first, then clicks Accept in Pantry.

    RAM answers AlreadyAccepted; Pantry used to show that as an error and keep the invitation
    pending and the request "invited" until the next reconcile.
    """
    request, invitation = _invited_then_answered_in_aws(
        ram_world, data_scientist, owner, django_capture_on_commit_callbacks, "accept"
    )

    services.invitation_accept(invitation=invitation, actor=consumer_admin)

    invitation.refresh_from_db()
    request.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert request.state == AccessRequest.State.ACTIVE
    assert Grant.objects.get(pk=request.grant_id).status == Grant.Status.ACTIVE
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1


def test_accepting_an_invitation_rejected_in_aws_says_so_and_follows_aws(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    request, invitation = _invited_then_answered_in_aws(
        ram_world, data_scientist, owner, django_capture_on_commit_callbacks, "reject"
    )

    with pytest.raises(services.SharingError, match="rejected outside Pantry"):
        services.invitation_accept(invitation=invitation, actor=consumer_admin)

    invitation.refresh_from_db()
    request.refresh_from_db()
    assert invitation.status == Invitation.Status.REJECTED
    assert request.state == AccessRequest.State.REJECTED


def test_rejecting_an_invitation_accepted_in_aws_says_so_and_follows_aws(
    ram_world, data_scientist, owner, consumer_admin, django_capture_on_commit_callbacks
):
    request, invitation = _invited_then_answered_in_aws(
        ram_world, data_scientist, owner, django_capture_on_commit_callbacks, "accept"
    )

    with pytest.raises(services.SharingError, match="accepted outside Pantry"):
        services.invitation_reject(invitation=invitation, actor=consumer_admin)

    invitation.refresh_from_db()
    request.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert request.state == AccessRequest.State.ACTIVE

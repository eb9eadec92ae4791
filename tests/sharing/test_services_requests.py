"""Access requests through the services: who may ask and decide, what is refused, what is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from catalog.models import Membership
from portal.models import AuditEvent
from sharing import selectors, services
from sharing.models import AccessRequest, Grant, Notification, SharingPolicy
from sharing.services import SharingError
from tests.factories import FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory


@pytest.fixture
def group(org):
    return FeatureGroupFactory(account=org.central, name="customer_digital_engagement", region="eu-west-1")


@pytest.fixture
def discoverable(org, group):
    """fraud-research can find central-feature-store's groups in eu-west-1 (not read them)."""
    return GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")


def _ask(user, org, group, **overrides):
    params = {
        "user": user,
        "consumer_account": org.consumer,
        "feature_group": group,
        "level": Grant.Permission.READ_ONLY,
        "reason": "Fraud model features",
        "ends_on": timezone.localdate() + timedelta(days=30),
        "terms_accepted": False,
    }
    params.update(overrides)
    return services.access_request_create(**params)


def test_data_scientist_asks_for_a_discoverable_group_and_owners_hear_of_it(
    org, group, discoverable, data_scientist, owner
):
    request = _ask(data_scientist, org, group)

    assert request.state == AccessRequest.State.PENDING
    assert request.owner_account == org.central
    assert list(selectors.requests_inbox(owner)) == [request]
    assert list(selectors.requests_of_requester(data_scientist)) == [request]
    assert Notification.objects.filter(user=owner, kind=Notification.Kind.REQUEST_NEW).count() == 1
    event = AuditEvent.objects.get(action="access_request.create")
    assert (event.owner_account_id, event.consumer_account_id) == ("111111111111", "444444444444")
    assert selectors.notifications_unread_count(owner) == 1


def test_double_submitted_request_is_one_request(org, group, discoverable, data_scientist):
    first = _ask(data_scientist, org, group)
    second = _ask(data_scientist, org, group)
    assert first.pk == second.pk
    assert AccessRequest.objects.count() == 1


def test_outsider_asking_for_an_undiscoverable_group_gets_404(org, group, outsider):
    with pytest.raises(Http404):
        _ask(outsider, org, group, consumer_account=org.unrelated)


def test_asking_for_an_account_you_do_not_belong_to_is_denied_before_validation(org, group, data_scientist):
    with pytest.raises(PermissionDenied):
        _ask(data_scientist, org, group, consumer_account=org.unrelated, reason="")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 4097}, "reason"),
        ({"ends_on": timezone.localdate() - timedelta(days=1)}, "ends_on"),
        ({"ends_on": timezone.localdate() + timedelta(days=91)}, "ends_on"),
        ({"level": Grant.Permission.DISCOVER}, "level"),
    ],
)
def test_bad_requests_are_refused_with_the_field_to_fix(org, group, discoverable, data_scientist, overrides, field):
    with pytest.raises(SharingError) as caught:
        _ask(data_scientist, org, group, **overrides)
    assert caught.value.field == field
    assert AccessRequest.objects.count() == 0


def test_terms_of_use_must_be_accepted_when_the_owner_set_them(org, group, discoverable, data_scientist):
    SharingPolicy.objects.create(account=org.central, terms_of_use="No resale.", default_days=30, max_days=60)
    with pytest.raises(SharingError) as caught:
        _ask(data_scientist, org, group)
    assert caught.value.field == "terms_accepted"
    assert _ask(data_scientist, org, group, terms_accepted=True).terms_accepted


def test_asking_for_access_you_already_have_is_refused(org, group, reader_grant, data_scientist):
    with pytest.raises(SharingError, match="already has"):
        _ask(data_scientist, org, group)
    assert _ask(data_scientist, org, group, level=Grant.Permission.READ_WRITE).state == "pending"


def test_owner_approves_at_a_lower_level_and_provisioning_is_queued_on_commit(
    org, group, discoverable, data_scientist, owner, django_capture_on_commit_callbacks
):
    request = _ask(data_scientist, org, group, level=Grant.Permission.ADMIN)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approved = services.access_request_approve(
            access_request=request, approver=owner, level=Grant.Permission.READ_ONLY, note="Read is enough"
        )
    assert approved.state == AccessRequest.State.APPROVED
    assert approved.granted_level == Grant.Permission.READ_ONLY
    assert approved.decided_by == owner
    assert len([c for c in callbacks if "delay" in repr(c.__code__.co_names)]) == 1
    # The same approval again does nothing more.
    with django_capture_on_commit_callbacks(execute=False) as again:
        services.access_request_approve(access_request=request, approver=owner)
    assert again == []
    assert AuditEvent.objects.filter(action="access_request.approve").count() == 1


def test_approving_above_the_requested_level_is_refused(org, group, discoverable, data_scientist, owner):
    request = _ask(data_scientist, org, group)
    with pytest.raises(SharingError):
        services.access_request_approve(access_request=request, approver=owner, level=Grant.Permission.ADMIN)


def test_nobody_approves_their_own_request(org, group, discoverable, data_scientist):
    Membership.objects.filter(user=data_scientist).delete()
    MembershipFactory(user=data_scientist, account=org.consumer, role=Membership.Role.MEMBER)
    MembershipFactory(user=data_scientist, account=org.central, role=Membership.Role.OWNER)
    other = FeatureGroupFactory(account=org.team, region="eu-west-1")
    GrantFactory(owner_account=org.team, consumer_account=org.consumer, region="eu-west-1")
    MembershipFactory(user=data_scientist, account=org.team, role=Membership.Role.OWNER)
    request = _ask(data_scientist, org, other)
    with pytest.raises(PermissionDenied):
        services.access_request_approve(access_request=request, approver=data_scientist)


def test_only_owners_of_the_account_decide(org, group, discoverable, data_scientist, consumer_admin, outsider):
    request = _ask(data_scientist, org, group)
    for person in (consumer_admin, outsider):
        with pytest.raises(PermissionDenied):
            services.access_request_approve(access_request=request, approver=person)
    # The consumer account's admin sees the request but may not decide it; an outsider does not see it.
    assert selectors.get_access_request_for_user(consumer_admin, request.uuid) == request
    with pytest.raises(PermissionDenied):
        selectors.get_access_request_to_decide(consumer_admin, request.uuid)
    for lookup in (selectors.get_access_request_for_user, selectors.get_access_request_to_decide):
        with pytest.raises(Http404):
            lookup(outsider, request.uuid)
    with pytest.raises(PermissionDenied):
        selectors.get_access_request_to_decide(data_scientist, request.uuid)  # their own request


def test_reject_needs_a_note_and_tells_the_requester(org, group, discoverable, data_scientist, owner):
    request = _ask(data_scientist, org, group)
    with pytest.raises(SharingError):
        services.access_request_reject(access_request=request, approver=owner, note=" ")
    rejected = services.access_request_reject(access_request=request, approver=owner, note="Use the aggregate group")
    assert rejected.state == AccessRequest.State.REJECTED
    assert Notification.objects.filter(user=data_scientist, kind=Notification.Kind.REQUEST_DECIDED).exists()
    with pytest.raises(SharingError):
        services.access_request_approve(access_request=request, approver=owner)


def test_requester_withdraws_a_pending_request_and_nobody_else_can(org, group, discoverable, data_scientist, owner):
    request = _ask(data_scientist, org, group)
    with pytest.raises(PermissionDenied):
        services.access_request_withdraw(access_request=request, user=owner)
    assert services.access_request_withdraw(access_request=request, user=data_scientist).state == "withdrawn"
    assert services.access_request_withdraw(access_request=request, user=data_scientist).state == "withdrawn"


def test_seen_but_not_readable_lists_catalog_groups_without_access(org, group, discoverable, data_scientist, outsider):
    readable = FeatureGroupFactory(account=org.central, region="eu-west-1")
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=readable,
        permission=Grant.Permission.READ_ONLY,
    )
    assert list(selectors.groups_seen_not_readable(data_scientist)) == [group]
    assert selectors.can_request_access(data_scientist, group)
    assert selectors.can_request_access(data_scientist, readable)  # can still ask for a higher level
    assert not selectors.can_request_access(UserFactory(), group)
    assert not selectors.can_request_access(outsider, group)  # has an account, but cannot see the group


def test_policy_update_is_for_owners_and_audited(org, owner, consumer_admin):
    with pytest.raises(PermissionDenied):
        services.sharing_policy_update(
            account=org.central, actor=consumer_admin, terms_of_use="", default_days=30, max_days=60
        )
    with pytest.raises(SharingError):
        services.sharing_policy_update(account=org.central, actor=owner, terms_of_use="", default_days=90, max_days=60)
    policy = services.sharing_policy_update(
        account=org.central, actor=owner, terms_of_use="No resale.", default_days=30, max_days=60
    )
    assert SharingPolicy.for_account(org.central) == policy
    assert AuditEvent.objects.filter(action="sharing_policy.update").count() == 1


def test_how_to_read_fills_in_the_arn_and_region_for_a_consumer_and_the_name_for_a_member(
    org, group, reader_grant, data_scientist, owner
):
    consumer_view = selectors.how_to_read(data_scientist, group)
    assert consumer_view.can_read and consumer_view.cross_account
    assert consumer_view.consumer_account_id == "444444444444"
    assert f'FeatureGroupName="{group.arn}"' in consumer_view.online_snippet
    assert 'region_name="eu-west-1"' in consumer_view.online_snippet
    assert "Lake Formation" in consumer_view.offline_note and "111111111111" in consumer_view.offline_snippet

    member_view = selectors.how_to_read(owner, group)
    assert not member_view.cross_account
    assert f'FeatureGroupName="{group.name}"' in member_view.online_snippet


def test_sharing_audit_trail_is_read_by_governance_and_by_the_accounts_it_is_about(
    org, group, discoverable, data_scientist, owner, governance, outsider
):
    _ask(data_scientist, org, group)
    assert selectors.sharing_audit_events(governance).count() == 1
    assert selectors.sharing_audit_events(owner).count() == 1
    assert selectors.sharing_audit_events(outsider).count() == 0

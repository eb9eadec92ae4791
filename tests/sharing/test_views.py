"""The sharing pages, by persona: asking for access, deciding, shares and policy, invitations, notifications, audit.

Provisioning (the Celery task that talks to AWS RAM) is queued on commit; these
tests run inside one transaction, so an approved request stays "approved" here.
The worker's part is covered by the services' and the browser journey's tests.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Membership
from sharing import services
from sharing.models import AccessRequest, Grant, Notification, SharingPolicy
from tests.csp import assert_csp_clean
from tests.factories import AwsAccountFactory, FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(org):
    """A group of the central account whose catalog is discoverable to the consumer account (dana's)."""
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    return FeatureGroupFactory(
        account=org.central,
        name="customer_profile",
        record_identifier_feature="customer_id",
        glue_database="sagemaker_featurestore",
        glue_table="customer_profile_1700000000",
    )


def _request(user, account, group, **overrides) -> AccessRequest:
    data = {
        "user": user,
        "consumer_account": account,
        "level": "read_write",
        "reason": "Churn model features.",
        "ends_on": timezone.localdate() + timedelta(days=30),
        "terms_accepted": False,
        "feature_group": group,
    }
    return services.access_request_create(**{**data, **overrides})


def _form(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    return response


# --- data scientists ------------------------------------------------------------------------


def test_discoverable_group_page_offers_request_access_instead_of_mail_only(client, data_scientist, group):
    client.force_login(data_scientist)
    response = client.get(group.get_absolute_url())
    assert response.status_code == 200
    assert reverse("sharing:request_create", args=[group.uuid]) in response.content.decode()
    assert_csp_clean(response.content.decode())


def test_owner_sees_no_request_button_on_own_group(client, owner, group):
    client.force_login(owner)
    response = client.get(group.get_absolute_url())
    assert reverse("sharing:request_create", args=[group.uuid]) not in response.content.decode()


def test_each_discoverable_search_result_has_a_request_button(client, data_scientist, group, org):
    readable = FeatureGroupFactory(account=org.central, name="customer_orders")
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=readable,
        permission=Grant.Permission.READ_ONLY,
    )
    client.force_login(data_scientist)
    html = client.get(reverse("catalog:catalog_list"), {"q": "customer"}).content.decode()
    assert reverse("sharing:request_create", args=[group.uuid]) in html
    assert reverse("sharing:request_create", args=[readable.uuid]) not in html


def test_seen_but_not_readable_lists_only_groups_without_read_access(client, data_scientist, group, org):
    readable = FeatureGroupFactory(account=org.central, name="customer_orders")
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=readable,
        permission=Grant.Permission.READ_ONLY,
    )
    client.force_login(data_scientist)
    html = client.get(reverse("sharing:seen_list")).content.decode()
    assert "customer_profile" in html
    assert "customer_orders" not in html
    assert_csp_clean(html)


def test_request_form_defaults_to_the_owner_policy_and_asks_for_the_terms(client, data_scientist, group, org):
    SharingPolicy.objects.create(
        account=org.central, terms_of_use="No re-identification.", default_days=30, max_days=60
    )
    client.force_login(data_scientist)
    url = reverse("sharing:request_create", args=[group.uuid])
    html = client.get(url).content.decode()
    today = timezone.localdate()
    assert f'value="{(today + timedelta(days=30)).isoformat()}"' in html
    assert f'max="{(today + timedelta(days=60)).isoformat()}"' in html
    assert "No re-identification." in html
    assert 'name="terms_accepted"' in html

    data = {
        "consumer_account": str(org.consumer.uuid),
        "level": "read_only",
        "reason": "Churn model.",
        "ends_on": (today + timedelta(days=30)).isoformat(),
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "terms of use" in response.content.decode()
    assert not AccessRequest.objects.exists()

    too_late = {**data, "terms_accepted": "on", "ends_on": (today + timedelta(days=61)).isoformat()}
    response = client.post(url, too_late)
    assert "at most 60 days" in response.content.decode()
    assert not AccessRequest.objects.exists()

    response = client.post(url, {**data, "terms_accepted": "on"})
    access_request = AccessRequest.objects.get()
    assert response.status_code == 302
    assert access_request.terms_accepted and access_request.level == "read_only"


def test_reason_is_required_and_limited(client, data_scientist, group, org):
    client.force_login(data_scientist)
    url = reverse("sharing:request_create", args=[group.uuid])
    data = {
        "consumer_account": str(org.consumer.uuid),
        "level": "read_only",
        "ends_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }
    assert client.post(url, {**data, "reason": ""}).status_code == 200
    response = client.post(url, {**data, "reason": "x" * 4097})
    assert "at most 4096 characters" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_my_requests_show_state_decider_and_note_and_withdraw(client, data_scientist, owner, group, org):
    rejected = _request(data_scientist, org.consumer, group, level="admin")
    services.access_request_reject(access_request=rejected, approver=owner, note="Admin is for the owning team.")
    pending = _request(data_scientist, org.consumer, group, level="read_only")
    client.force_login(data_scientist)
    html = client.get(reverse("sharing:requests_mine")).content.decode()
    assert "Admin is for the owning team." in html
    assert "Omar Owner" in html
    assert "Waiting for the owner" in html
    assert reverse("sharing:request_withdraw", args=[pending.uuid]) in html
    assert reverse("sharing:request_withdraw", args=[rejected.uuid]) not in html

    response = client.post(reverse("sharing:request_withdraw", args=[pending.uuid]))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == AccessRequest.State.WITHDRAWN


def test_someone_else_cannot_withdraw_or_see_my_request(client, data_scientist, outsider, group, org):
    access_request = _request(data_scientist, org.consumer, group)
    client.force_login(outsider)
    assert client.get(reverse("sharing:request_detail", args=[access_request.uuid])).status_code == 404
    assert client.post(reverse("sharing:request_withdraw", args=[access_request.uuid])).status_code == 404
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING


# --- owners ------------------------------------------------------------------------------------


def test_owner_approves_at_a_lower_level_and_earlier_date(client, data_scientist, owner, group, org):
    access_request = _request(data_scientist, org.consumer, group, level="read_write")
    client.force_login(owner)
    inbox = client.get(reverse("sharing:requests_inbox")).content.decode()
    assert "customer_profile" in inbox and "Dana Scientist" in inbox
    detail_url = reverse("sharing:request_detail", args=[access_request.uuid])
    detail = client.get(detail_url).content.decode()
    assert reverse("sharing:request_approve", args=[access_request.uuid]) in detail
    assert 'value="admin"' not in detail  # nobody approves more than was asked
    assert_csp_clean(detail)

    ends_on = timezone.localdate() + timedelta(days=7)
    response = client.post(
        reverse("sharing:request_approve", args=[access_request.uuid]),
        {"approve-level": "read_only", "approve-ends_on": ends_on.isoformat(), "approve-note": "Read is enough."},
    )
    assert response.status_code == 302
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.APPROVED
    assert access_request.granted_level == "read_only" and access_request.ends_on == ends_on
    assert access_request.decided_by == owner


def test_approving_past_the_requested_date_is_a_form_error(client, data_scientist, owner, group, org):
    access_request = _request(data_scientist, org.consumer, group)
    client.force_login(owner)
    response = client.post(
        reverse("sharing:request_approve", args=[access_request.uuid]),
        {"approve-level": "read_only", "approve-ends_on": (access_request.ends_on + timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 400
    assert "earlier one" in response.content.decode()
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING


def test_reject_needs_a_note(client, data_scientist, owner, group, org):
    access_request = _request(data_scientist, org.consumer, group)
    client.force_login(owner)
    url = reverse("sharing:request_reject", args=[access_request.uuid])
    assert client.post(url, {"reject-note": ""}).status_code == 400
    assert client.post(url, {"reject-note": "Use the aggregated group."}).status_code == 302
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.REJECTED
    assert access_request.decision_note == "Use the aggregated group."


def test_nobody_approves_their_own_request(client, owner, group, org):
    # An owner of the central account who also works in the consumer account asks for access.
    MembershipFactory(user=owner, account=org.consumer, role=Membership.Role.MEMBER)
    access_request = _request(owner, org.consumer, group)
    client.force_login(owner)
    html = client.get(reverse("sharing:request_detail", args=[access_request.uuid])).content.decode()
    assert reverse("sharing:request_approve", args=[access_request.uuid]) not in html
    assert "nobody approves their own request" in html
    response = client.post(
        reverse("sharing:request_approve", args=[access_request.uuid]),
        {"approve-level": "read_write", "approve-ends_on": access_request.ends_on.isoformat()},
    )
    assert response.status_code == 403
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING


def test_requester_and_consumer_admin_cannot_decide(client, data_scientist, consumer_admin, group, org):
    access_request = _request(data_scientist, org.consumer, group)
    for user in (data_scientist, consumer_admin):
        client.force_login(user)
        response = client.post(reverse("sharing:request_reject", args=[access_request.uuid]), {"reject-note": "no"})
        # Both see the request (the requester's own; their account's), so it is a 403, not a 404.
        assert response.status_code == 403
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING


def test_account_sharing_lists_grants_with_revoke_for_owners_only(
    client, owner, governance, data_scientist, group, org
):
    grant = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=group,
        permission=Grant.Permission.READ_ONLY,
        requested_by=data_scientist,
        approved_by=owner,
        ends_on=timezone.localdate() + timedelta(days=20),
    )
    url = reverse("sharing:account_sharing", args=[org.central.uuid])
    client.force_login(owner)
    html = client.get(url).content.decode()
    assert "customer_profile" in html and "Dana Scientist" in html and "Omar Owner" in html
    assert reverse("sharing:grant_revoke", args=[grant.uuid]) in html
    assert_csp_clean(html)

    client.force_login(governance)
    html = client.get(url).content.decode()
    assert "customer_profile" in html
    assert reverse("sharing:grant_revoke", args=[grant.uuid]) not in html
    # Governance sees every grant (read-only): a 403, not a 404; the grant stays live.
    assert client.post(reverse("sharing:grant_revoke", args=[grant.uuid])).status_code == 403
    grant.refresh_from_db()
    assert grant.is_live

    client.force_login(data_scientist)
    assert client.get(url).status_code == 404


def test_policy_form_saves_terms_and_durations(client, owner, org):
    client.force_login(owner)
    url = reverse("sharing:policy_edit", args=[org.central.uuid])
    response = client.post(url, {"terms_of_use": "Be nice.", "default_days": "120", "max_days": "60"})
    assert response.status_code == 200
    assert "cannot be longer than the maximum" in response.content.decode()
    response = client.post(url, {"terms_of_use": "Be nice.", "default_days": "30", "max_days": "60"})
    assert response.status_code == 302
    policy = SharingPolicy.objects.get(account=org.central)
    assert (policy.terms_of_use, policy.default_days, policy.max_days) == ("Be nice.", 30, 60)


def test_share_form_needs_the_catalog_or_groups(client, owner, group, org):
    client.force_login(owner)
    url = reverse("sharing:share_create", args=[org.central.uuid])
    html = client.get(url).content.decode()
    assert "customer_profile" in html
    response = client.post(
        url, {"consumer_account": str(org.consumer.uuid), "region": "eu-west-1", "level": "read_only"}
    )
    assert response.status_code == 200
    assert "Choose the catalog, feature groups, or both." in response.content.decode()
    assert not Grant.objects.filter(consumer_account=org.consumer, feature_group__isnull=False).exists()


def test_only_owners_reach_the_share_and_policy_forms(client, data_scientist, governance, outsider, org):
    for user, status in ((governance, 403), (outsider, 404), (data_scientist, 404)):
        client.force_login(user)
        assert client.get(reverse("sharing:share_create", args=[org.central.uuid])).status_code == status
        assert client.get(reverse("sharing:policy_edit", args=[org.central.uuid])).status_code == status


# --- consumer account admins ---------------------------------------------------------------------


def test_invitation_inbox_shows_members_and_roles(client, consumer_admin, data_scientist, org):
    client.force_login(consumer_admin)
    html = client.get(reverse("sharing:invitation_inbox")).content.decode()
    assert "Members and roles" in html
    assert "Dana Scientist" in html and "Account admin" in html
    assert_csp_clean(html)


# --- notifications -----------------------------------------------------------------------------


def test_unread_count_in_the_nav_and_mark_read(client, data_scientist, owner, group, org):
    _request(data_scientist, org.consumer, group)  # notifies the owners
    client.force_login(owner)
    html = client.get(reverse("home")).content.decode()
    assert 'id="unread-count"' in html
    page = client.get(reverse("sharing:notification_list")).content.decode()
    assert "customer_profile" in page
    response = client.post(reverse("sharing:notifications_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    assert 'id="unread-count"' not in client.get(reverse("home")).content.decode()


def test_marking_someone_elses_notification_changes_nothing(client, data_scientist, owner, group, org):
    _request(data_scientist, org.consumer, group)
    notification = Notification.objects.get(user=owner)
    client.force_login(data_scientist)
    client.post(reverse("sharing:notifications_read"), {"notification": str(notification.uuid)})
    notification.refresh_from_db()
    assert notification.read_at is None


def test_a_bad_notification_id_is_a_400(client, owner):
    client.force_login(owner)
    assert client.post(reverse("sharing:notifications_read"), {"notification": "nope"}).status_code == 400


# --- governance ---------------------------------------------------------------------------------


def test_governance_audit_trail_filters_and_exports_formula_safe_csv(
    client, governance, data_scientist, owner, group, org
):
    access_request = _request(data_scientist, org.consumer, group, reason='=HYPERLINK("http://evil")')
    services.access_request_reject(access_request=access_request, approver=owner, note="-1+1")
    client.force_login(governance)
    html = client.get(reverse("sharing:audit_list")).content.decode()
    assert "Access requested" in html and "Access request rejected" in html
    assert_csp_clean(html)
    filtered = client.get(reverse("sharing:audit_list"), {"action": "access_request.reject"}).content.decode()
    assert "access_request.reject</div>" in filtered and "access_request.create</div>" not in filtered

    response = client.get(reverse("sharing:audit_csv"))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "at"
    notes = [row[-1] for row in rows[1:]]
    assert "'-1+1" in notes
    assert '\'=HYPERLINK("http://evil")' in notes


def test_the_audit_trail_is_not_for_owners_or_data_scientists(client, owner, data_scientist):
    for user in (owner, data_scientist):
        client.force_login(user)
        assert client.get(reverse("sharing:audit_list")).status_code == 403
        assert client.get(reverse("sharing:audit_csv")).status_code == 403


def test_unknown_request_is_404_for_everyone(client, owner):
    client.force_login(owner)
    import uuid

    assert client.get(reverse("sharing:request_detail", args=[uuid.uuid4()])).status_code == 404


# --- query budgets: list pages do not grow with their rows ---------------------------------------------


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _many_requests(org, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        person = UserFactory(username=f"scientist{i}")
        MembershipFactory(user=person, account=org.consumer)
        _request(person, org.consumer, FeatureGroupFactory(account=org.central, name=f"group_{i}"))


@pytest.mark.parametrize(
    ("persona", "url_name"),
    [
        ("owner", "sharing:requests_inbox"),
        ("governance", "sharing:audit_list"),
        ("owner", "sharing:notification_list"),
    ],
)
def test_list_pages_query_count_does_not_grow_with_rows(request, client, org, group, persona, url_name):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = reverse(url_name)
    _many_requests(org, 2)
    few = _count_queries(client, url)
    _many_requests(org, 8, first=2)
    assert _count_queries(client, url) == few


def test_my_requests_and_seen_list_query_count_does_not_grow(client, data_scientist, org, group):
    client.force_login(data_scientist)
    for i in range(2):
        _request(data_scientist, org.consumer, FeatureGroupFactory(account=org.central, name=f"a_{i}"))
    counts = [_count_queries(client, reverse(n)) for n in ("sharing:requests_mine", "sharing:seen_list")]
    for i in range(8):
        _request(data_scientist, org.consumer, FeatureGroupFactory(account=org.central, name=f"b_{i}"))
    assert [_count_queries(client, reverse(n)) for n in ("sharing:requests_mine", "sharing:seen_list")] == counts


def test_account_sharing_and_invitations_query_count_does_not_grow(client, owner, consumer_admin, org):
    from sharing.models import Invitation, Share

    def add(i: int) -> None:
        share = Share.objects.create(
            owner_account=org.central,
            consumer_account=AwsAccountFactory(name=f"consumer-{i}"),
            region="eu-west-1",
            level="read_only",
            resource_share_arn=f"arn:aws:ram:eu-west-1:111111111111:resource-share/s{i}",
            status=Share.Status.ACTIVE,
        )
        GrantFactory(
            owner_account=org.central,
            consumer_account=share.consumer_account,
            resource_type=Grant.ResourceType.FEATURE_GROUP,
            feature_group=FeatureGroupFactory(account=org.central, name=f"shared_{i}"),
            permission=Grant.Permission.READ_ONLY,
            share=share,
            requested_by=UserFactory(username=f"asker{i}"),
            approved_by=owner,
        )
        consumer_share = Share.objects.create(
            owner_account=org.central,
            consumer_account=org.consumer,
            region=f"region-{i}",
            level="read_only",
            resource_share_arn=f"arn:aws:ram:eu-west-1:111111111111:resource-share/c{i}",
        )
        GrantFactory(
            owner_account=org.central,
            consumer_account=org.consumer,
            resource_type=Grant.ResourceType.FEATURE_GROUP,
            feature_group=FeatureGroupFactory(account=org.central, name=f"invited_{i}"),
            permission=Grant.Permission.READ_ONLY,
            status=Grant.Status.PENDING,
            share=consumer_share,
        )
        Invitation.objects.create(
            share=consumer_share,
            invitation_arn=f"arn:aws:ram:eu-west-1:111111111111:resource-share-invitation/i{i}",
            sender_account_id=org.central.account_id,
            receiver_account=org.consumer,
            region="eu-west-1",
            resource_share_arn=consumer_share.resource_share_arn,
            resource_share_name=f"share-{i}",
            invited_at=timezone.now(),
            expires_at=timezone.now() + timedelta(hours=12),
        )

    pages = [
        (owner, reverse("sharing:account_sharing", args=[org.central.uuid])),
        (consumer_admin, reverse("sharing:invitation_inbox")),
    ]

    def counts() -> list[int]:
        out = []
        for user, url in pages:
            client.force_login(user)
            out.append(_count_queries(client, url))
        return out

    for i in range(2):
        add(i)
    few = counts()
    for i in range(2, 8):
        add(i)
    assert counts() == few
    client.force_login(consumer_admin)
    html = client.get(reverse("sharing:invitation_inbox")).content.decode()
    assert "invited_7" in html and "AWSRAMPermissionSageMakerFeatureGroupReadOnly" in html


def test_owner_sees_an_expired_invitation_and_is_told_when_nothing_is_left_to_resend(client, owner, org):
    from sharing.models import Invitation

    invitation = Invitation.objects.create(
        invitation_arn="arn:aws:ram:eu-west-1:111111111111:resource-share-invitation/old",
        sender_account_id=org.central.account_id,
        receiver_account=org.consumer,
        region="eu-west-1",
        resource_share_arn="arn:aws:ram:eu-west-1:111111111111:resource-share/old",
        invited_at=timezone.now() - timedelta(hours=13),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(owner)
    url = reverse("sharing:account_sharing", args=[org.central.uuid])
    html = client.get(url).content.decode()
    assert "Invitations waiting or expired" in html and "Expired" in html
    resend = reverse("sharing:invitation_resend", args=[invitation.uuid])
    assert resend in html
    response = client.post(resend, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "No approval holds any more" in response.content.decode()


def test_a_failure_in_aws_is_shown_and_can_be_retried(client, data_scientist, owner, consumer_admin, group, org):
    access_request = _request(data_scientist, org.consumer, group)
    AccessRequest.objects.filter(pk=access_request.pk).update(
        state=AccessRequest.State.FAILED, aws_error="AWS RAM: the account reached its resource share limit."
    )
    url = reverse("sharing:request_detail", args=[access_request.uuid])
    client.force_login(consumer_admin)  # sees the request of their account, may not retry it
    html = client.get(url).content.decode()
    assert "resource share limit" in html
    assert reverse("sharing:request_retry", args=[access_request.uuid]) not in html
    client.force_login(owner)
    html = client.get(url).content.decode()
    assert "resource share limit" in html
    assert reverse("sharing:request_retry", args=[access_request.uuid]) in html
    response = client.post(reverse("sharing:request_retry", args=[access_request.uuid]))
    assert response.status_code == 302
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PROVISIONING


def test_no_terms_checkbox_when_the_owner_set_no_terms(client, data_scientist, group):
    client.force_login(data_scientist)
    html = client.get(reverse("sharing:request_create", args=[group.uuid])).content.decode()
    assert 'name="terms_accepted"' not in html
    assert 'name="reason"' in html and 'maxlength="4096"' in html


def test_a_reader_without_the_catalog_asks_to_discover_it(client, data_scientist, owner, outsider, org):
    readable = FeatureGroupFactory(account=org.central, name="customer_orders")
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=readable,
        permission=Grant.Permission.READ_ONLY,
    )
    url = reverse("sharing:catalog_request_create", args=[org.central.uuid, "eu-west-1"])
    client.force_login(data_scientist)
    assert url in client.get(readable.get_absolute_url()).content.decode()
    html = client.get(url).content.decode()
    assert "discover central-feature-store" in html and 'name="level"' not in html
    response = client.post(
        url,
        {
            "consumer_account": str(org.consumer.uuid),
            "reason": "Browse the whole catalog.",
            "ends_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 302
    access_request = AccessRequest.objects.get()
    assert access_request.feature_group is None and access_request.level == "discover"
    client.force_login(owner)
    assert "Catalog of central-feature-store" in client.get(reverse("sharing:requests_inbox")).content.decode()
    assert client.get(url).status_code == 403  # nothing to ask for: it is their own account
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(data_scientist)
    unknown_region = reverse("sharing:catalog_request_create", args=[org.central.uuid, "mars-north-1"])
    assert client.get(unknown_region).status_code == 404


def test_outsider_posting_to_anothers_request_is_404_and_changes_nothing(client, data_scientist, outsider, group, org):
    access_request = _request(data_scientist, org.consumer, group)
    client.force_login(outsider)
    for name in ("request_approve", "request_reject", "request_withdraw", "request_retry"):
        response = client.post(reverse(f"sharing:{name}", args=[access_request.uuid]), {"reject-note": "x" * 100_000})
        assert response.status_code == 404, name
        assert group.name not in response.content.decode()
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING


def test_request_form_refuses_huge_reason_and_nul(client, data_scientist, group, org):
    client.force_login(data_scientist)
    url = reverse("sharing:request_create", args=[group.uuid])
    before = AccessRequest.objects.count()
    response = client.post(url, {"consumer_account": org.consumer.pk, "level": "read_only", "reason": "x" * 1_000_000})
    assert response.status_code == 200  # the form again, with its error
    assert "at most 4096 characters" in response.context["form"].errors["reason"][0]
    assert client.post(url, {"consumer_account": org.consumer.pk, "reason": "a\x00b"}).status_code == 400
    assert AccessRequest.objects.count() == before

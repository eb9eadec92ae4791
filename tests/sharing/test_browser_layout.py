"""The sharing pages stay inside a phone's width with the longest names AWS and people produce.

64-character group names, 100-character account names, 150-character
usernames, reasons and notes without spaces, kilobyte RAM ARNs: each must
wrap, never push the page sideways (Chromium at 375px).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import AwsAccount, Membership
from sharing import services
from sharing.models import Grant, Invitation, Share
from tests.browser import csp_violations, login
from tests.catalog.test_layout_browser import LONG_TOKEN, NAME_64, overflow
from tests.factories import AwsAccountFactory, FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_ACCOUNT = "analytics-platform-shared-services-production-eu-west-1-feature-store-owner-account-0001"
LONG_USER = "u" * 150


@pytest.fixture
def long_sharing(org):
    owner_account = AwsAccountFactory(name=LONG_ACCOUNT, account_id="121212121212", kind=AwsAccount.Kind.OWNER)
    consumer = AwsAccountFactory(name=LONG_ACCOUNT[::-1], account_id="343434343434", kind=AwsAccount.Kind.CONSUMER)
    owner = UserFactory(username="o" * 150, first_name="Owner" * 6, last_name="Longname" * 3)
    MembershipFactory(user=owner, account=owner_account, role=Membership.Role.OWNER)
    scientist = UserFactory(username=LONG_USER, first_name="Scientist" * 3)
    MembershipFactory(user=scientist, account=consumer, role=Membership.Role.MEMBER)
    admin = UserFactory(username="a" * 150)
    MembershipFactory(user=admin, account=consumer, role=Membership.Role.ACCOUNT_ADMIN)
    GrantFactory(owner_account=owner_account, consumer_account=consumer)  # discoverable
    group = FeatureGroupFactory(account=owner_account, name=NAME_64, glue_table=(NAME_64 + "_" + "t" * 200)[:255])
    other = FeatureGroupFactory(account=owner_account, name=NAME_64[:-1] + "2")
    access_request = services.access_request_create(
        user=scientist,
        consumer_account=consumer,
        level="admin",
        reason="Because " + LONG_TOKEN,
        ends_on=timezone.localdate() + timedelta(days=30),
        terms_accepted=False,
        feature_group=group,
    )
    rejected = services.access_request_create(
        user=scientist,
        consumer_account=consumer,
        level="read_only",
        reason=LONG_TOKEN,
        ends_on=timezone.localdate() + timedelta(days=30),
        terms_accepted=False,
        feature_group=other,
    )
    services.access_request_reject(access_request=rejected, approver=owner, note="No: " + LONG_TOKEN)
    arn = f"arn:aws:ram:eu-west-1:121212121212:resource-share/{LONG_TOKEN}"
    share = Share.objects.create(
        owner_account=owner_account,
        consumer_account=consumer,
        region="eu-west-1",
        level="read_only",
        resource_share_arn=arn,
        name="pantry-" + LONG_TOKEN[:200],
        status=Share.Status.ACTIVE,
    )
    GrantFactory(
        owner_account=owner_account,
        consumer_account=consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=FeatureGroupFactory(account=owner_account, name=NAME_64[:-1] + "3"),
        permission=Grant.Permission.READ_ONLY,
        status=Grant.Status.PENDING,
        share=share,
        resource_share_arn=arn,
        requested_by=scientist,
        approved_by=owner,
    )
    Invitation.objects.create(
        share=share,
        invitation_arn=f"arn:aws:ram:eu-west-1:121212121212:resource-share-invitation/{LONG_TOKEN}",
        sender_account_id=owner_account.account_id,
        receiver_account=consumer,
        region="eu-west-1",
        resource_share_arn=arn,
        resource_share_name="pantry-" + LONG_TOKEN[:200],
        invited_at=timezone.now(),
        expires_at=timezone.now() + timedelta(hours=12),
    )
    return {
        "owner": owner,
        "scientist": scientist,
        "admin": admin,
        "owner_account": owner_account,
        "group": group,
        "request": access_request,
    }


def test_sharing_pages_wrap_long_names_on_a_phone(page, live_server, long_sharing, governance):
    page.set_viewport_size({"width": 375, "height": 900})
    w = long_sharing
    by_persona = {
        w["scientist"].username: {
            "my requests": reverse("sharing:requests_mine"),
            "seen but not readable": reverse("sharing:seen_list"),
            "request form": reverse("sharing:request_create", args=[w["group"].uuid]),
            "request page": reverse("sharing:request_detail", args=[w["request"].uuid]),
            "group page": w["group"].get_absolute_url(),
        },
        w["owner"].username: {
            "inbox": reverse("sharing:requests_inbox"),
            "decision page": reverse("sharing:request_detail", args=[w["request"].uuid]),
            "account sharing": reverse("sharing:account_sharing", args=[w["owner_account"].uuid]),
            "share form": reverse("sharing:share_create", args=[w["owner_account"].uuid]),
            "policy form": reverse("sharing:policy_edit", args=[w["owner_account"].uuid]),
            "notifications": reverse("sharing:notification_list"),
        },
        w["admin"].username: {"invitations": reverse("sharing:invitation_inbox")},
        governance.username: {"audit trail": reverse("sharing:audit_list")},
    }
    problems = {}
    for username, pages in by_persona.items():
        page.context.clear_cookies()
        login(page, live_server, username)
        for label, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            if found := overflow(page):
                problems[label] = found

    # A decision form echoing a long note in its error.
    page.context.clear_cookies()
    login(page, live_server, w["owner"].username)
    page.goto(f"{live_server.url}{reverse('sharing:request_detail', args=[w['request'].uuid])}")
    # The browser would stop at maxlength; a client that ignores it gets the error on the form.
    page.evaluate("document.querySelector('#id_reject-note').removeAttribute('maxlength')")
    page.fill("#id_reject-note", "y" * 5000)
    page.get_by_role("button", name="Reject").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".invalid-feedback").count() >= 1
    if found := overflow(page):
        problems["reject form with errors"] = found

    assert problems == {}
    assert csp_violations(page) == []

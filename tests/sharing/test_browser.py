"""The sharing journey in Chromium: dana asks, omar approves, carla accepts, dana reads, omar revokes.

Against the sandbox's RAM over HTTP (tests/sharing/ram_fixtures.py): the
central account owns the group, fraud-research (dana's and carla's account)
is outside the organisation, so the share arrives as an invitation. The
provisioning runs right after the approval commits, in the request that approves (a worker does it
in production and in test_journey_worker.py). Every page is checked for CSP
violations; each step is asserted as the persona sees it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.models import AuditEvent
from sharing.models import AccessRequest, Grant
from tests.browser import csp_violations, login
from tests.factories import GrantFactory
from tests.sharing import ram_fixtures
from tests.sharing.ram_fixtures import can_describe

ram_world = ram_fixtures.ram_world

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager_provisioning(monkeypatch):
    """Provisioning right after the approval commits, in the request that approved (what the task does)."""
    from django.db import transaction

    from sharing import services
    from sharing.services import requests as request_services

    def provision_on_commit(access_request):
        request_uuid = str(access_request.uuid)
        transaction.on_commit(lambda: services.access_request_provision(request_uuid=request_uuid))

    monkeypatch.setattr(request_services, "_enqueue_provisioning", provision_on_commit)


def _logout(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/.*|.*/$"))


def test_request_approve_accept_read_revoke_in_the_browser(
    page, live_server, ram_world, eager_provisioning, data_scientist, owner, consumer_admin, governance
):
    group = ram_world.group
    # The catalog is discoverable to fraud-research: dana finds the group but cannot read it.
    GrantFactory(owner_account=ram_world.central, consumer_account=ram_world.consumer, region=group.region)

    # --- dana asks -------------------------------------------------------------------------
    login(page, live_server, "dana")
    page.goto(f"{live_server.url}/catalog/?q=customer")
    result = page.locator("li.card", has_text=group.name)
    expect(result.get_by_role("link", name=re.compile("Request access"))).to_be_visible()
    page.goto(f"{live_server.url}{group.get_absolute_url()}")
    expect(page.locator("#read-heading")).to_be_visible()
    page.locator("#request-access").click()
    expect(page.get_by_role("heading", name=re.compile("Request access to"))).to_be_visible()
    page.get_by_label(re.compile("^Read and write")).check()
    page.get_by_label("Reason").fill("Chargeback model retraining for Q3.")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".badge", has_text="Waiting for the owner")).to_be_visible()
    page.goto(f"{live_server.url}/access/seen/")
    expect(page.get_by_role("link", name="See request")).to_be_visible()
    assert csp_violations(page) == []
    _logout(page)

    # --- omar decides: read only is enough -----------------------------------------------------
    login(page, live_server, "omar")
    expect(page.locator("#unread-count")).to_have_text(re.compile("^1"))
    page.goto(f"{live_server.url}/access/inbox/")
    row = page.locator("tr", has_text="Dana Scientist")
    expect(row.locator(".badge")).to_have_text("Waiting for the owner")
    row.get_by_role("link", name=re.compile("^Decide")).click()
    page.get_by_label("Approve at level").select_option("read_only")
    page.get_by_label("Note (optional)").fill("Read is enough for retraining.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("heading", name="Requests to decide")).to_be_visible()
    access_request = AccessRequest.objects.get()
    assert access_request.state == AccessRequest.State.INVITED, access_request.aws_error
    expect(page.locator("tr", has_text="Dana Scientist").locator(".badge")).to_have_text(
        "Waiting for the account admin to accept"
    )
    assert csp_violations(page) == []
    _logout(page)

    # --- carla accepts the RAM invitation -------------------------------------------------------
    login(page, live_server, "carla")
    page.goto(f"{live_server.url}/sharing/invitations/")
    invitation_row = page.locator("tbody tr", has_text="central-feature-store").first
    expect(invitation_row).to_contain_text(group.name)
    expect(invitation_row).to_contain_text("AWSRAMPermissionSageMakerFeatureGroupReadOnly")
    expect(invitation_row.locator(".badge")).to_have_text("Pending")
    expect(page.get_by_role("heading", name="Members and roles")).to_be_visible()
    assert not can_describe(ram_world, ram_world.consumer, group.arn)
    invitation_row.get_by_role("button", name=re.compile("^Accept")).click()
    expect(page.locator(".alert-success")).to_contain_text("Accepted")
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.ACTIVE
    assert can_describe(ram_world, ram_world.consumer, group.arn)
    assert csp_violations(page) == []
    _logout(page)

    # --- dana reads: the snippets are filled in for her account ------------------------------------
    login(page, live_server, "dana")
    page.goto(f"{live_server.url}/access/requests/")
    expect(page.locator("tr", has_text=group.name).locator(".badge")).to_have_text("Active")
    expect(page.locator("tr", has_text=group.name)).to_contain_text("Omar Owner")
    expect(page.locator("tr", has_text=group.name)).to_contain_text("Read is enough for retraining.")
    page.get_by_role("link", name="How to read it").click()
    expect(page.locator("#read-from")).to_contain_text(ram_world.consumer.account_id)
    snippets = page.locator("pre.code-snippet").all_inner_texts()
    assert any(f'FeatureGroupName="{group.arn}"' in s and 'region_name="eu-west-1"' in s for s in snippets)
    assert any("batch_get_record" in s for s in snippets)
    assert page.locator("#request-access").count() == 1  # only "more access" (read and write) is left to ask
    assert csp_violations(page) == []
    _logout(page)

    # --- omar revokes --------------------------------------------------------------------------------
    login(page, live_server, "omar")
    page.goto(f"{live_server.url}/sharing/accounts/{ram_world.central.uuid}/")
    grant_row = page.locator("tr", has_text=group.name)
    expect(grant_row).to_contain_text("Dana Scientist")
    grant_row.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(page.locator(".alert-success")).to_contain_text("Revoked")
    assert not Grant.objects.live().filter(feature_group=group).exists()
    assert not can_describe(ram_world, ram_world.consumer, group.arn)
    assert csp_violations(page) == []
    _logout(page)

    # --- governance sees every step in the audit trail -------------------------------------------------
    login(page, live_server, "gita")
    page.goto(f"{live_server.url}/sharing/audit/")
    trail = page.locator("tbody")
    for label in ("Access requested", "Access request approved", "RAM invitation accepted", "Access revoked"):
        expect(trail).to_contain_text(label)
    assert AuditEvent.objects.filter(action="grant.revoke").exists()
    assert csp_violations(page) == []

"""In Chromium: an account's owner copies the trust policy from the account page; an operator gives
the account a new external id, which the page then shows."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from catalog.selectors.aws_setup import trust_policy_document
from tests.browser import csp_violations, login, page  # noqa: F401 - the page fixture
from tests.catalog.test_layout_browser import overflow

pytestmark = pytest.mark.django_db(transaction=True)

PRINCIPAL = "arn:aws:iam::123456789012:role/pantry-app"


@pytest.fixture(autouse=True)
def _principal(settings):
    settings.PANTRY_AWS_PRINCIPAL_ARN = PRINCIPAL
    settings.CELERY_TASK_ALWAYS_EAGER = False


def test_an_owner_copies_the_trust_policy_with_the_external_id_from_the_account_page(page, live_server, owner, org):  # noqa: F811
    page.set_viewport_size({"width": 375, "height": 900})
    login(page, live_server, owner.username)
    page.goto(f"{live_server.url}{org.central.get_absolute_url()}")

    assert page.get_by_role("heading", name="Role setup").is_visible()
    assert page.inner_text("#external-id").strip() == org.central.external_id
    pasted = json.loads(page.inner_text("#trust-policy"))
    assert pasted == trust_policy_document(principal_arn=PRINCIPAL, external_id=org.central.external_id)
    assert f"ExternalId={org.central.external_id}" in page.inner_text("#cloudformation-command")
    assert overflow(page) is None  # long commands scroll inside their box, not the page
    assert csp_violations(page) == []


def test_an_operator_gives_the_account_a_new_external_id(page, live_server, operator, org):  # noqa: F811
    before = org.central.external_id
    login(page, live_server, operator.username)
    page.goto(f"{live_server.url}{reverse('catalog:account_edit', args=[org.central.uuid])}")
    page.check("#id_regenerate_external_id")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}{org.central.get_absolute_url()}")

    org.central.refresh_from_db()
    assert org.central.external_id != before
    assert page.inner_text("#external-id").strip() == org.central.external_id
    assert before not in page.content()
    assert csp_violations(page) == []

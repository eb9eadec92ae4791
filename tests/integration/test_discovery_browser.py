"""A data scientist's path through Pantry in Chromium: type a search (with a typo),
narrow it with a facet, open a feature group, and click through its lineage."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from catalog.models import LineageEdge, LineageNode
from catalog.services.lineage import lineage_node_for_group
from catalog.services.sync import feature_words_refresh
from tests.browser import csp_violations, login
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory


def wait_for_query(page, key: str, value: str, timeout: float = 15) -> None:
    """Poll the page URL from Python: the strict CSP forbids Playwright's string evaluation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value in parse_qs(urlparse(page.url).query).get(key, []):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"URL never had {key}={value}: {page.url}")


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalog(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    profile = FeatureGroupFactory(
        account=org.central,
        name="customer_profile",
        description="One row per customer: demographics and tenure.",
        tags={"domain": "customer", "pii": "true"},
    )
    FeatureFactory(feature_group=profile, name="customer_age", type="Integral", description="Age in years")
    FeatureFactory(feature_group=profile, name="tenure_days", type="Integral")
    lookalike = FeatureGroupFactory(
        account=org.central,
        name="customer_marketing_scores",
        description="Propensity scores for campaigns.",
        tags={"domain": "marketing"},
    )
    FeatureFactory(feature_group=lookalike, name="email_propensity", type="Fractional")
    hidden = FeatureGroupFactory(account=org.unrelated, name="customer_secrets", tags={"domain": "customer"})
    for group in (profile, lookalike, hidden):
        feature_words_refresh(group=group)
    source = LineageNode.objects.create(key="s3://raw-crm/customers/", kind="s3", name="s3://raw-crm/customers/")
    model = LineageNode.objects.create(
        key="arn:aws:sagemaker:eu-west-1:111111111111:model/churn-xgb", kind="model", name="churn-xgb"
    )
    node = lineage_node_for_group(group=profile)
    LineageEdge.objects.create(source=source, target=node, origin="sagemaker", relation="ContributedTo")
    LineageEdge.objects.create(source=node, target=model, origin="sagemaker", relation="ContributedTo")
    return {"profile": profile, "lookalike": lookalike, "hidden": hidden, "source": source, "model": model}


def test_search_facet_open_group_and_click_lineage(page, live_server, data_scientist, catalog):
    login(page, live_server, data_scientist.username)
    page.goto(f"{live_server.url}/catalog/")

    # Live search as the user types, with a typo in the name.
    page.fill("#search-q", "custmer")
    # htmx pushes the query into the URL (history.pushState), so it can be shared.
    wait_for_query(page, "q", "custmer")
    results = page.locator("#search-body")
    page.get_by_text("Showing results for").wait_for()  # the typo was corrected
    results.get_by_role("link", name="customer_profile").wait_for()
    assert "customer_secrets" not in results.inner_text()  # an unrelated account's group never shows

    # Narrow with the tag facet; the URL keeps the whole query.
    page.get_by_label(re.compile(r"domain=customer")).check()
    wait_for_query(page, "tag", "domain=customer")
    results.get_by_role("link", name="customer_marketing_scores").wait_for(state="detached")
    assert "1 feature group" in page.locator("#results-summary").inner_text()

    # Open the group: schema and lineage.
    results.get_by_role("link", name="customer_profile").click()
    page.wait_for_url(f"**{catalog['profile'].get_absolute_url()}")
    assert "customer_age" in page.locator("body").inner_text()
    graph = page.locator("[data-lineage-graph][data-state=ready]")
    graph.wait_for()
    assert len(graph.get_attribute("data-node-ids").split()) == 3

    # Click the upstream source: its details appear beside the graph.
    page.locator(f'button[data-lineage-node="{catalog["source"].uuid}"]').click()
    details = page.locator("[data-lineage-details]")
    assert "s3://raw-crm/customers/" in details.inner_text()
    assert csp_violations(page) == []

"""The lineage panel in Chromium: the graph draws under the strict CSP, a node click shows its
details, and a click on a neighbouring feature group opens its page."""

from __future__ import annotations

import pytest

from catalog.models import LineageEdge, LineageNode
from catalog.services.lineage import lineage_node_for_group
from tests.browser import csp_violations, login
from tests.factories import FeatureGroupFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lineage_graph_draws_and_nodes_are_clickable(page, live_server, org, owner):
    group = FeatureGroupFactory(account=org.central, name="customer_profile")
    downstream = FeatureGroupFactory(account=org.central, name="customer_scores")
    fg = lineage_node_for_group(group=group)
    raw = LineageNode.objects.create(key="s3://raw/customers", kind="s3", name="s3://raw/customers")
    LineageEdge.objects.create(source=raw, target=fg, origin="sagemaker")
    LineageEdge.objects.create(source=fg, target=lineage_node_for_group(group=downstream), origin="manual")

    login(page, live_server, owner.username)
    page.goto(f"{live_server.url}{group.get_absolute_url()}")
    graph = page.locator("[data-lineage-graph]")
    graph.and_(page.locator("[data-state=ready]")).wait_for(timeout=15000)
    assert len(graph.get_attribute("data-node-ids").split()) == 3
    assert page.locator("[data-lineage-graph] canvas").count() > 0

    # The tables arrive through htmx; a non-group node shows its details in the side panel.
    page.locator(f'button[data-lineage-node="{raw.uuid}"]').click()
    details = page.locator("[data-lineage-details]")
    assert "s3://raw/customers" in details.inner_text()
    assert details.get_attribute("data-node") == str(raw.uuid)

    # A neighbouring feature group navigates to its page.
    page.locator(f'a[data-lineage-node="{downstream.lineage_node.uuid}"]').click()
    page.wait_for_url(f"**{downstream.get_absolute_url()}")
    assert csp_violations(page) == []

"""In Chromium: an override character in a name cannot turn around the text after it."""

from __future__ import annotations

import pytest

from catalog.models import LineageEdge, LineageNode
from catalog.services.lineage import lineage_node_for_group
from tests.browser import csp_violations, login
from tests.factories import FeatureGroupFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RLO = "\u202e"

CHARACTER_LEFTS = """(el) => {
    const text = el.firstChild;
    const range = document.createRange();
    const lefts = [];
    for (let i = 0; i < text.length; i++) {
        range.setStart(text, i);
        range.setEnd(text, i + 1);
        lefts.push(range.getBoundingClientRect().left);
    }
    return lefts;
}"""


def test_an_override_in_a_lineage_name_does_not_reverse_the_text_after_it(page, live_server, org, owner):
    group = FeatureGroupFactory(account=org.central, name="customer_profile")
    source = LineageNode.objects.create(key="ol://ns::evil", kind="s3", name=f"raw{RLO}_events")
    LineageEdge.objects.create(source=source, target=lineage_node_for_group(group=group), origin="openlineage")
    login(page, live_server, owner.username)
    page.goto(f"{live_server.url}/groups/{group.uuid}/lineage/")
    # The edge row: "<name> (S3 location)" in one cell, the kind after the name.
    kind = page.locator("[data-lineage-edge] td").first.locator("span.text-body-secondary")
    assert kind.inner_text() == "(S3 location)"
    lefts = kind.evaluate(CHARACTER_LEFTS)
    assert lefts == sorted(lefts), "the text after the name is drawn right to left"
    assert "raw[U+202E]_events" in page.locator("[data-lineage-edge] td").first.inner_text()
    # The graph labels and details come from the JSON API and get the same markers.
    page.locator("[data-lineage-graph][data-state=ready]").wait_for()
    labels = page.locator("[data-lineage-graph]").evaluate("el => el.pantryCy.nodes().map(n => n.data('label'))")
    assert "raw[U+202E]_events" in labels
    page.locator(f'button[data-lineage-node="{source.uuid}"]').click()
    assert "raw[U+202E]_events" in page.locator("[data-lineage-details]").inner_text()
    assert csp_violations(page) == []


def test_an_override_in_an_account_name_does_not_reverse_the_search_result_line(page, live_server, org, owner):
    org.central.name = f"central{RLO}-store"
    org.central.save()
    FeatureGroupFactory(account=org.central, name="customer_profile")
    login(page, live_server, owner.username)
    page.goto(f"{live_server.url}/catalog/?q=customer")
    line = page.locator("#search-body li.card .small.text-body-secondary").first
    lefts = line.evaluate(CHARACTER_LEFTS)
    assert lefts == sorted(lefts), "the rest of the line is drawn right to left"
    assert line.inner_text().startswith("central[U+202E]-store (111111111111) · eu-west-1")

"""The lineage graph's labels do not overlap, even with many long-named nodes (Chromium)."""

from __future__ import annotations

import pytest

from catalog.models import LineageEdge, LineageNode
from catalog.services.lineage import lineage_node_for_group
from tests.browser import csp_violations, login
from tests.factories import FeatureGroupFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BOXES = """el => el.pantryCy.nodes().map(n => {
    const b = n.renderedBoundingBox({includeLabels: true, includeOverlays: false});
    return {id: n.id(), label: n.data('label'), x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2};
})"""


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a["x1"] < b["x2"] and b["x1"] < a["x2"] and a["y1"] < b["y2"] and b["y1"] < a["y2"]:
                pairs.append((a["label"], b["label"]))
    return pairs


@pytest.fixture
def crowded_lineage(org):
    group = FeatureGroupFactory(account=org.central, name="customer_lifetime_value_rolling_ninety_day_features")
    root = lineage_node_for_group(group=group)
    for i in range(7):
        raw = LineageNode.objects.create(
            key=f"s3://analytics-raw-landing-zone-eu-west-1/customers/transactions/partition_{i:02d}/",
            kind="s3",
            name=f"s3://analytics-raw-landing-zone-eu-west-1/customers/transactions/partition_{i:02d}/",
        )
        job = LineageNode.objects.create(
            key=f"arn:aws:sagemaker:eu-west-1:111111111111:processing-job/customer-feature-build-{i:02d}",
            kind="processing_job",
            name=f"customer-feature-engineering-processing-job-{i:02d}",
        )
        LineageEdge.objects.create(source=raw, target=job, origin="sagemaker")
        LineageEdge.objects.create(source=job, target=root, origin="sagemaker")
    for i in range(6):
        model = LineageNode.objects.create(
            key=f"arn:aws:sagemaker:eu-west-1:111111111111:model/churn-propensity-xgboost-model-{i:02d}",
            kind="model",
            name=f"churn-propensity-xgboost-model-version-{i:02d}",
        )
        LineageEdge.objects.create(source=root, target=model, origin="openlineage")
    return group


@pytest.mark.parametrize("width", [1280, 800])
def test_lineage_labels_do_not_overlap(page, live_server, owner, crowded_lineage, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, owner.username)
    page.goto(f"{live_server.url}{crowded_lineage.get_absolute_url()}")
    graph = page.locator("[data-lineage-graph][data-state=ready]")
    graph.wait_for()
    boxes = graph.evaluate(BOXES)
    assert len(boxes) == 1 + 7 + 7 + 6
    assert overlapping(boxes) == []
    # Labels are drawn whole (wrapped, not cut to an ellipsis) and large enough to read.
    labels = graph.evaluate("el => el.pantryCy.nodes().map(n => n.renderedStyle('font-size'))")
    assert min(float(size.removesuffix("px")) for size in labels) >= 7
    assert (
        graph.evaluate(
            "el => el.pantryCy.style().json().some(s => s.properties && s.properties['text-wrap'] === 'ellipsis')"
        )
        is False
    )
    assert csp_violations(page) == []

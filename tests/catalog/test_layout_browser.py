"""Long names and values wrap instead of widening the page (Chromium, narrow and normal viewports).

AWS allows 64-character feature group and feature names without spaces,
255-character Glue table names, kilobyte S3 URIs and ARNs, 256-character tag
values; users paste long searches; forms echo what was typed in their errors.
None of these may push the page sideways: a horizontal scroll bar on a
phone, or a table cut off at the edge, hides the rest of the page.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import AwsAccount, LineageEdge, LineageNode, Membership, OpenLineageEvent, SyncRun, SyncState
from catalog.services.lineage import lineage_node_for_group
from tests.browser import csp_violations, login
from tests.factories import (
    AwsAccountFactory,
    FeatureFactory,
    FeatureGroupFactory,
    MembershipFactory,
    SyncRunFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME_64 = "customer_lifetime_value_rolling_ninety_day_window_features_v0001"  # 64, no spaces
assert len(NAME_64) == 64
FEATURE_64 = "transaction_amount_exponentially_weighted_moving_average_30d_usd"
assert len(FEATURE_64) == 64
LONG_TOKEN = "x" * 40 + "".join(f"segment{i:03d}" for i in range(30))  # 340 characters, no spaces
LONG_QUERY = "average_transaction_amount_" * 7 + "q" * 11  # 200 characters, no spaces
assert len(LONG_QUERY) == 200


@pytest.fixture
def long_catalog(org, operator):
    account = AwsAccountFactory(
        name="analytics-platform-shared-services-production-eu-west-1-feature-store-owner-account-0001",
        team="central-machine-learning-platform-engineering-and-operations-team",
        kind=AwsAccount.Kind.OWNER,
        role_arn="arn:aws:iam::123456789012:role/service-role/" + "PantryCatalogReaderRoleForCrossAccountAccess" * 3,
        regions=["eu-west-1"],
    )
    MembershipFactory(user=operator, account=account, role=Membership.Role.OWNER)
    group = FeatureGroupFactory(
        account=account,
        name=NAME_64,
        description="Scores per customer. Source: " + LONG_TOKEN,
        pantry_description="Rolling features. See `" + LONG_TOKEN + "` and https://example.com/" + LONG_TOKEN,
        record_identifier_feature=FEATURE_64,
        event_time_feature="event_time",
        offline_s3_uri="s3://" + "analytics-platform-offline-store-bucket-" * 5 + "/" + LONG_TOKEN,
        glue_database="sagemaker_featurestore_" + "d" * 100,
        glue_table=(NAME_64 + "_1700000000_" + "t" * 255)[:255],
        table_format="Iceberg",
        online_store_config={"SecurityConfig": {"KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/" + "k" * 120}},
        tags={"cost-centre-" + "c" * 100: "v" * 256, "domain": "customer"},
        role_arn="arn:aws:iam::123456789012:role/" + "r" * 200,
    )
    FeatureFactory(
        feature_group=group,
        name=FEATURE_64,
        position=0,
        description="Amount " + LONG_TOKEN,
        parameters={"source-table-" + "p" * 80: "glue://" + LONG_TOKEN},
    )
    FeatureFactory(feature_group=group, name="event_time", position=1, type="Fractional")
    node = lineage_node_for_group(group=group)
    for i in range(3):
        source = LineageNode.objects.create(
            key=f"s3://raw-bucket-{i}/" + LONG_TOKEN, kind="s3", name=f"s3://raw-bucket-{i}/" + LONG_TOKEN
        )
        LineageEdge.objects.create(source=source, target=node, origin="sagemaker", relation="ContributedTo")
    now = timezone.now()
    run = SyncRunFactory(
        account=account,
        status=SyncRun.Status.FAILED,
        started_at=now - timedelta(seconds=5),
        finished_at=now,
        error_code="AccessDeniedException",
        error_message="User: arn:aws:sts::123456789012:assumed-role/" + LONG_TOKEN + " is not authorized",
        api_calls={"sagemaker.Search": 3, "sagemaker.DescribeFeatureGroup" + "x" * 80: 1},
    )
    SyncState.objects.create(
        account=account, region="eu-west-1", last_failure_at=now, last_error=run.error_message, last_run=run
    )
    OpenLineageEvent.objects.create(
        event_type="COMPLETE",
        event_time=now,
        run_id="0190d2f3-8a7b-7c3d-9e1f-2a3b4c5d6e7f",
        job_namespace="airflow://" + LONG_TOKEN,
        job_name="dag." + LONG_TOKEN,
        payload={},
        unmatched=[{"role": "input", "dataset": "s3://" + LONG_TOKEN}],
    )
    return {"account": account, "group": group, "run": run}


def overflow(page) -> dict | None:
    """How far the page scrolls sideways, and the widest elements that cause it (for the message)."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const scroll = document.documentElement.scrollWidth;
            if (scroll <= width) return null;
            const culprits = [];
            for (const el of document.body.querySelectorAll("*")) {
                const r = el.getBoundingClientRect();
                if (r.right > width + 1 && el.children.length === 0) {
                    culprits.push(`${el.tagName.toLowerCase()}.${el.className}: ${Math.round(r.right)}px`);
                }
                if (culprits.length >= 5) break;
            }
            return {scrollWidth: scroll, innerWidth: width, culprits};
        }"""
    )


@pytest.mark.parametrize("width", [375, 1280])
def test_long_names_and_values_wrap_instead_of_widening_the_page(page, live_server, operator, long_catalog, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, operator.username)
    group, account, run = long_catalog["group"], long_catalog["account"], long_catalog["run"]
    feature_url = reverse("catalog:feature_detail", args=[group.uuid, FEATURE_64])
    pages = {
        "home": "/",
        "group page": group.get_absolute_url(),
        "feature page": feature_url,
        "search with a long query": f"/catalog/?q={LONG_QUERY}",
        "search results with long names": "/catalog/?q=customer",
        "feature search": f"/catalog/?kind=features&q={FEATURE_64}",
        "account list": reverse("catalog:account_list"),
        "account page": account.get_absolute_url(),
        "sync run list": reverse("catalog:syncrun_list"),
        "sync run page": run.get_absolute_url(),
        "lineage page": reverse("catalog:group_lineage", args=[group.uuid]),
        "description editor": reverse("catalog:feature_description_edit", args=[group.uuid, FEATURE_64]),
        "OpenLineage events": reverse("catalog:lineage_events"),
        "404 page": "/groups/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12 + "/" + LONG_TOKEN,
    }
    problems = {}
    for label, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if found := overflow(page):
            problems[label] = found

    # A form that echoes what was typed in its errors.
    page.goto(f"{live_server.url}{reverse('catalog:account_create')}")
    page.fill("#id_account_id", "1234567890123456789012345678901234567890")
    page.fill("#id_name", "n" * 100)
    page.fill("#id_role_arn", "arn:aws:iam::999999999999:role/" + LONG_TOKEN)
    page.fill("#id_external_id", "pantry-external-id")
    page.fill("#id_regions", "eu-west-1, " + LONG_TOKEN)
    page.get_by_role("button", name="Register and sync").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".invalid-feedback").count() >= 2  # the errors are on the page
    if found := overflow(page):
        problems["account form with errors"] = found

    assert problems == {}
    assert csp_violations(page) == []


@pytest.mark.parametrize("width", [375, 1280])
def test_facet_counts_stay_on_one_line_beside_long_values(page, live_server, operator, org, width):
    """A long facet value wraps; its count beside it does not (it read "12" over "6" for 126)."""
    MembershipFactory(user=operator, account=org.central, role=Membership.Role.OWNER)
    for i in range(126):
        FeatureGroupFactory(
            account=org.central, name=f"profile_{i}", tags={"team": "customer-data-platform-and-analytics"}
        )
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, operator.username)
    page.goto(f"{live_server.url}/catalog/?q=profile")
    page.wait_for_load_state("networkidle")
    badges = page.evaluate(
        """() => [...document.querySelectorAll('aside .badge')].map(b => ({
            text: b.textContent.trim(),
            height: b.getBoundingClientRect().height,
        }))"""
    )
    counts = [b for b in badges if b["text"].isdigit()]
    assert any(b["text"] == "126" for b in counts), badges
    heights = {round(b["height"]) for b in counts}
    assert max(heights) - min(heights) <= 1, counts  # one line each, however long the label beside it

"""End to end: CloudTrail files from the sandbox, ingested by the real pipeline, then the dashboard.

The dashboard reads rollups; its numbers must equal a direct count over the raw events the
same ingestion kept.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import GOVERNANCE_GROUP
from tests.factories import UserFactory
from tests.usage.trail_helpers import CONSUMER, OTHER, at, caller, group_arn, ingest_all
from usage.models import CloudTrailEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("usage-ingest")]

RANGE = {"start": "2026-11-19", "end": "2026-11-21"}


def _calls(n: int, *, account: str, group: str, operation: str = "GetRecord", minute: float = 0, **extra) -> list[dict]:
    return [
        {
            "operation": operation,
            "caller": caller(account, name=extra.pop("role", "scoring-service")),
            "feature_groups": [group_arn(group)],
            "at": at(minute + i / 60),
            **extra,
        }
        for i in range(n)
    ]


def test_dashboard_numbers_equal_a_direct_count_over_ingested_raw_events(client, trail_org):
    trail_org.calls(
        _calls(7, account=CONSUMER, group="orders")
        + _calls(3, account=CONSUMER, group="orders", operation="BatchGetRecord", minute=10)
        + _calls(2, account=CONSUMER, group="orders", operation="DescribeFeatureGroup", minute=20)
        + _calls(4, account=OTHER, group="payments", error="denied", minute=30)
        + _calls(1, account=OTHER, group="orders", operation="PutRecord", error="denied", minute=40)
    )
    ingest_all()
    raw = list(CloudTrailEvent.objects.all())
    assert len(raw) == 17

    gita = UserFactory(username="gita")
    gita.groups.add(Group.objects.get_or_create(name=GOVERNANCE_GROUP)[0])
    client.force_login(gita)
    response = client.get("/usage/", RANGE)
    assert response.status_code == 200
    context = response.context
    assert context["outcomes"] == {o: sum(1 for e in raw if e.outcome == o) for o in ("success", "denied", "failed")}
    per_day = context["chart_calls_per_day"]["series"]
    assert {op: sum(v) for op, v in per_day.datasets.items()} == dict(Counter(e.event_name for e in raw))
    ok = [e for e in raw if e.outcome == "success"]
    top = context["chart_top_groups"]["series"].rows
    assert {r["label"]: r["calls"] for r in top} == dict(Counter(e.feature_group.name for e in ok))
    consumers = context["chart_top_consumers"]["series"].rows
    assert {r["account_id"]: r["calls"] for r in consumers} == dict(Counter(e.consumer_account_id for e in ok))
    denied = context["chart_denied"]["series"].rows
    assert {(r["principal_arn"], r["group_label"], r["operation"]): r["calls"] for r in denied} == dict(
        Counter((e.principal_arn, e.feature_group.name, e.event_name) for e in raw if e.outcome == "denied")
    )
    html = response.content.decode()
    assert f"arn:aws:iam::{OTHER}:role/scoring-service" in html  # the denied call names who tried

    api = APIClient()
    api.force_authenticate(gita)
    body = api.get("/api/v1/usage/summary/", RANGE).json()
    assert body["outcomes"] == context["outcomes"]
    assert body["reads"] == sum(1 for e in ok if e.read_only)


def test_grants_page_counts_ingested_calls_by_accounts_with_no_grant(client, trail_org):
    # Two ingestion batches on the same day and pair: the second adds to the pair's day.
    trail_org.calls(
        _calls(5, account=CONSUMER, group="orders")
        + _calls(2, account=CONSUMER, group="orders", operation="DescribeFeatureGroup", minute=10)
        + _calls(3, account=OTHER, group="orders", error="denied", minute=20)
    )
    ingest_all()
    trail_org.calls(_calls(4, account=CONSUMER, group="orders", operation="BatchGetRecord", minute=30))
    ingest_all()
    ok = [e for e in CloudTrailEvent.objects.all() if e.outcome == "success"]
    assert len(ok) == 11

    gita = UserFactory(username="gita")
    gita.groups.add(Group.objects.get_or_create(name=GOVERNANCE_GROUP)[0])
    client.force_login(gita)
    days = (timezone.localdate() - dt.date(2026, 11, 20)).days + 1
    report = client.get("/usage/grants/", {"days": days}).context["report"]
    assert [(r["group"].name, r["account_id"], r["calls"]) for r in report.reads_without_grant] == [
        ("orders", CONSUMER, len(ok))
    ]

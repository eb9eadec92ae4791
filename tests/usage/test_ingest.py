"""CloudTrail ingestion: files from the sandbox's trail become exact usage counts."""

from __future__ import annotations

import importlib

import pytest

from tests.usage.trail_helpers import CONSUMER, OTHER, OWNER, at, caller, group_arn, ingest_all, usage_counts
from usage.models import CloudTrailEvent, TrailFile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("usage-ingest")]


def reads(n: int, account: str = CONSUMER, group: str = "orders", minute: float = 0, **extra) -> list[dict]:
    return [
        {
            "operation": "GetRecord",
            "caller": caller(account),
            "feature_groups": [group_arn(group)],
            "at": at(minute + i / 60),
            **extra,
        }
        for i in range(n)
    ]


def test_reads_are_counted_once_per_call_across_both_accounts_copies(trail_org):
    result = trail_org.calls(reads(3))
    # The sandbox delivered each call twice: to the consumer's and the owner's log folders.
    assert sum(f["records"] for f in result["files"]) == 6
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 3}
    event = CloudTrailEvent.objects.get(event_id=CloudTrailEvent.objects.values("event_id")[:1])
    # Counted on the caller's copy (its account is covered by the trail): the caller's role by ARN.
    assert event.principal_arn == f"arn:aws:iam::{CONSUMER}:role/scoring-service"
    assert event.feature_group.name == "orders"
    assert event.owner_account_id == OWNER


def test_ingesting_the_same_files_twice_counts_them_once(trail_org):
    written = trail_org.calls(reads(4) + reads(2, account=OTHER, group="payments", error="denied"))["files"]
    ingest_all()
    first = usage_counts()
    assert first == {
        ("GetRecord", CONSUMER, "orders", "success"): 4,
        ("GetRecord", OTHER, "payments", "denied"): 2,
    }
    # The ledger forgets the files (as if re-listed by a new source): events dedupe on eventID.
    TrailFile.objects.all().delete()
    trail_org.source.cursor = {}
    trail_org.source.save()
    ingest_all()
    assert usage_counts() == first
    # Owner, consumer and other: each done (again). The sandbox's own delivery loop may have added
    # a file of Pantry's calls meanwhile (it runs every 20 s): done too, and not usage.
    assert len(written) == 3
    assert {f["key"] for f in written} <= set(TrailFile.objects.filter(state="done").values_list("key", flat=True))
    assert not TrailFile.objects.exclude(state="done").exists()
    denied = CloudTrailEvent.objects.filter(outcome="denied").first()
    assert denied.principal_arn == f"arn:aws:iam::{OTHER}:role/scoring-service"


def test_pantry_own_calls_are_not_usage(trail_org):
    own = caller(OWNER, name="PantryCatalogReader", session="pantry-catalog")
    trail_org.calls(
        [{"operation": "DescribeFeatureGroup", "caller": own, "feature_groups": [group_arn("orders")], "at": at()}]
        + reads(1)
    )
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 1}


def test_the_pair_rollup_migration_fills_what_the_ingestion_writes(trail_org):
    """Usage ingested before `usage.0009` gets the same pair rows from the migration's back-fill."""
    from django.db import connection

    from usage.models import UsagePairDaily

    trail_org.calls(reads(4) + reads(2, group="payments", minute=5) + reads(2, account=OTHER, error="denied"))
    ingest_all()
    trail_org.calls(reads(3, minute=10))
    ingest_all()
    written = {
        (p.day, p.feature_group_arn, p.consumer_account_id, p.feature_group_id): p.calls
        for p in UsagePairDaily.objects.all()
    }
    assert sorted(written.values()) == [2, 7]  # the denied calls are not use
    UsagePairDaily.objects.all().delete()
    backfill = importlib.import_module("usage.migrations.0009_usage_pair_daily").BACKFILL
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    assert {
        (p.day, p.feature_group_arn, p.consumer_account_id, p.feature_group_id): p.calls
        for p in UsagePairDaily.objects.all()
    } == written

"""A small CloudTrail organisation in the sandbox for ingestion tests, and ways to write files.

The trails, bucket and reader role are made by the sandbox's own setup
(`sandbox.cloudtrail.trails.trails_setup`), so Pantry reads them through boto3 exactly as it
reads the demo's; calls are written by the sandbox's CloudTrail service (both copies of a
cross-account call, one `sharedEventID`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

OWNER = "111111111111"
CONSUMER = "555555555555"
OTHER = "666666666666"
REGION = "eu-west-1"
DAY = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def group_arn(name: str, account: str = OWNER, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:feature-group/{name}"


def caller(account: str, name: str = "scoring-service", session: str = "run-1", kind: str = "AssumedRole") -> dict:
    return {"kind": kind, "account_id": account, "name": name, "session": session}


def at(minutes: float = 0) -> str:
    return (DAY + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TrailOrg:
    url: str
    trail: dict
    source: object  # usage.models.TrailSource

    def calls(self, calls: list[dict], *, delivered_minutes: float = 5) -> dict:
        from sandbox import control

        return control.cloudtrail_events(self.url, calls, delivered_at=at(delivered_minutes))

    def file(self, records: list[dict], *, delivered_minutes: float = 5, account: str | None = None) -> dict:
        from sandbox import control

        return control.cloudtrail_file(self.url, records, delivered_at=at(delivered_minutes), account=account)

    def bad_file(self, kind: str, *, delivered_minutes: float = 5, **kwargs) -> dict:
        from sandbox import control

        return control.cloudtrail_bad_file(self.url, kind, delivered_at=at(delivered_minutes), account=OWNER, **kwargs)

    def s3(self):
        from sandbox import seed

        return seed.admin_client(self.url, "s3", self.trail["bucket_account_id"], REGION)


@pytest.fixture
def trail_org(aws_sandbox, settings, db) -> TrailOrg:
    """Owner 111…, consumers 555… and 666… in one organisation with the organisation trail,
    catalog groups `orders` and `payments` of the owner, and Pantry's trail source for it."""
    from catalog.models import AwsAccount
    from sandbox.cloudtrail import trails
    from tests.factories import AwsAccountFactory, FeatureGroupFactory
    from usage.models import TrailSource

    settings.PANTRY_USAGE_BACKFILL_DAYS = 3650
    settings.PANTRY_USAGE_DOWNLOAD_THREADS = 4
    manifest = {
        "accounts": [
            {"account_id": OWNER, "name": "central", "kind": "owner", "regions": [REGION]},
            {"account_id": CONSUMER, "name": "consumer", "kind": "consumer", "regions": [REGION]},
            {"account_id": OTHER, "name": "other", "kind": "consumer", "regions": [REGION]},
        ],
        "feature_groups": [
            {"account_id": OWNER, "region": REGION, "name": n, "arn": group_arn(n)} for n in ("orders", "payments")
        ],
        "access": [{"arn": group_arn("orders"), "consumer_account": CONSUMER, "permission": "ReadOnly"}],
    }
    section = trails.trails_setup(aws_sandbox.url, manifest)
    trail = next(t for t in section["trails"] if t["organization"])
    owner = AwsAccountFactory(account_id=OWNER, name="central", kind=AwsAccount.Kind.OWNER)
    for name in ("orders", "payments"):
        FeatureGroupFactory(account=owner, name=name, region=REGION, arn=group_arn(name))
    source = TrailSource.objects.create(
        name="organisation trail",
        bucket=trail["bucket"],
        prefix=trail["prefix"],
        region=REGION,
        kind=TrailSource.Kind.ORGANISATION,
        organisation_id=section["organization_id"],
        account_id=section["management_account_id"],
        role_arn=trail["role_arn"],
        external_id=trail["external_id"],
    )
    return TrailOrg(url=aws_sandbox.url, trail=trail, source=source)


def ingest_all(*, worker: str = "test-worker") -> None:
    """List every source and ingest until nothing is pending (one worker, in this process)."""
    from usage import services

    services.trail_sources_list()
    while services.trail_files_ingest(worker=worker).files:
        pass


def usage_counts() -> dict[tuple, int]:
    """Calls by (operation, consumer account, group name, outcome); the principal-less totals
    must say the same."""
    from django.db.models import Sum

    from usage.models import UsageDaily, UsageDailyTotal

    dims = ("day", "feature_group_arn", "owner_account_id", "consumer_account_id", "operation", "outcome", "read_only")
    by_dims = {tuple(r[d] for d in dims): r["c"] for r in UsageDaily.objects.values(*dims).annotate(c=Sum("calls"))}
    totals = {tuple(getattr(t, d) for d in dims): t.calls for t in UsageDailyTotal.objects.all()}
    assert by_dims == totals
    derived_rollups_match()
    return {
        (u.operation, u.consumer_account_id, u.feature_group_arn.rsplit("/", 1)[-1], u.outcome): u.calls
        for u in UsageDaily.objects.all()
    }


def derived_rollups_match() -> None:
    """The principals' and the pairs' daily rollups and the last-use table say what `UsageDaily` says."""
    from collections import defaultdict

    from usage.models import UsageDaily, UsageLastUse, UsagePairDaily, UsagePrincipalDaily

    principals: dict[tuple, list] = defaultdict(lambda: [0, set()])
    pairs: dict[tuple, int] = defaultdict(int)
    last_use: dict[tuple, object] = {}
    for u in UsageDaily.objects.filter(outcome="success"):
        entry = principals[(u.day, u.consumer_account_id, u.principal_arn)]
        entry[0] += u.calls
        pairs[(u.day, u.feature_group_arn, u.owner_account_id, u.consumer_account_id, u.feature_group_id)] += u.calls
        if u.feature_group_arn:
            entry[1].add(u.feature_group_arn)
            key = (u.feature_group_arn, u.consumer_account_id, u.operation)
            last_use[key] = max(u.day, last_use.get(key, u.day))
    assert {
        (p.day, p.consumer_account_id, p.principal_arn): (p.calls, sorted(p.feature_group_arns))
        for p in UsagePrincipalDaily.objects.all()
    } == {k: (calls, sorted(arns)) for k, (calls, arns) in principals.items()}
    assert {
        (p.day, p.feature_group_arn, p.owner_account_id, p.consumer_account_id, p.feature_group_id): p.calls
        for p in UsagePairDaily.objects.all()
    } == pairs
    assert {
        (u.feature_group_arn, u.consumer_account_id, u.operation): u.last_day for u in UsageLastUse.objects.all()
    } == last_use

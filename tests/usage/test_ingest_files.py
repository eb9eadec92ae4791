"""Bad, late and awkward log files: each problem recorded, the rest counted exactly once."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.aws import clear_session_cache
from tests.usage.trail_helpers import (
    CONSUMER,
    OWNER,
    at,
    caller,
    derived_rollups_match,
    group_arn,
    ingest_all,
    usage_counts,
)
from usage import services
from usage.models import CloudTrailEvent, TrailFile, TrailSource, UsageDaily

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("usage-ingest")]

UNREADABLE = {
    "corrupt-gzip": "corrupt gzip",
    "truncated-gzip": "truncated gzip",
    "not-gzip": "not a gzip file",
    "empty": "empty object",
    "invalid-json": "invalid JSON",
    "no-records": "not a CloudTrail log file",
    "records-not-list": "not a CloudTrail log file",
    "deep-nesting": "invalid JSON",
}


def read_calls(n: int, minute: float = 0, group: str = "orders") -> list[dict]:
    return [
        {
            "operation": "GetRecord",
            "caller": caller(CONSUMER),
            "feature_groups": [group_arn(group)],
            "at": at(minute + i / 60),
        }
        for i in range(n)
    ]


def test_unreadable_files_are_quarantined_with_their_reason_and_the_others_proceed(trail_org):
    trail_org.calls(read_calls(5))
    keys = {kind: trail_org.bad_file(kind)["key"] for kind in UNREADABLE}
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 5}
    for kind, reason in UNREADABLE.items():
        file = TrailFile.objects.get(key=keys[kind])
        assert file.state == "quarantined", kind
        assert reason in file.error, (kind, file.error)
    source = TrailSource.objects.get()
    assert source.files_quarantined == len(UNREADABLE)
    assert source.files_done == 2


def test_records_missing_fields_are_skipped_and_noted_and_nul_bytes_dropped(trail_org):
    missing = trail_org.bad_file("missing-fields")
    nul = trail_org.bad_file("nul-bytes", delivered_minutes=6)
    ingest_all()
    file = TrailFile.objects.get(key=missing["key"])
    assert file.state == "done"
    assert file.events_kept == missing["valid_records"]
    assert "5 record(s) skipped" in file.error
    assert TrailFile.objects.get(key=nul["key"]).events_kept == nul["valid_records"]
    assert CloudTrailEvent.objects.count() == missing["valid_records"] + nul["valid_records"]


def test_an_unknown_feature_group_is_counted_by_arn_and_linked_when_the_catalog_learns_it(trail_org):
    from catalog.models import AwsAccount, FeatureGroup

    info = trail_org.bad_file("unknown-feature-group")
    ingest_all()
    file = TrailFile.objects.get(key=info["key"])
    assert file.state == "done"
    assert "not in the catalog" in file.error and info["feature_group_arn"] in file.error
    row = UsageDaily.objects.get()
    assert row.feature_group_arn == info["feature_group_arn"] and row.feature_group is None
    assert row.calls == info["valid_records"]
    group = FeatureGroup.objects.create(
        account=AwsAccount.objects.get(account_id=OWNER),
        region="eu-west-1",
        arn=info["feature_group_arn"],
        name=info["feature_group_arn"].rsplit("/", 1)[-1],
    )
    assert services.usage_groups_link() == 3 + info["valid_records"]  # rollup, total, pair, raw events
    row.refresh_from_db()
    assert row.feature_group == group and row.calls == info["valid_records"]
    derived_rollups_match()


def test_a_replay_after_the_fix_ingests_a_quarantined_file_exactly_once(trail_org):
    result = trail_org.calls(read_calls(3))
    s3 = trail_org.s3()
    bucket = trail_org.trail["bucket"]
    owner_key = next(f["key"] for f in result["files"] if f"/{CONSUMER}/" in f["key"])
    good = s3.get_object(Bucket=bucket, Key=owner_key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=owner_key, Body=b"\x1f\x8b\x08\x00garbage")
    ingest_all()
    assert usage_counts() == {}
    assert TrailFile.objects.get(key=owner_key).state == "quarantined"
    s3.put_object(Bucket=bucket, Key=owner_key, Body=good)  # the fix
    day = dt.date(2026, 11, 20)
    replay = services.trail_files_replay(actor=None, source=trail_org.source, start=day, end=day)
    assert replay.requeued == 1
    ingest_all()
    services.trail_files_replay(actor=None, source=trail_org.source, start=day, end=day)  # twice: no-op
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 3}


def test_late_files_under_an_earlier_stamp_are_listed_and_repeated_events_count_once(trail_org):
    first = trail_org.calls(read_calls(2), delivered_minutes=30)
    ingest_all()
    # A file delivered late under an earlier stamp (within the look-back window), repeating one
    # event already ingested and carrying one new one.
    records = first["records"]
    caller_copy = [r for r in records if r["recipientAccountId"] == CONSUMER]
    new = trail_org.calls(read_calls(1, minute=3), delivered_minutes=10)
    new_copy = [r for r in new["records"] if r["recipientAccountId"] == CONSUMER]
    trail_org.file(caller_copy[:1] + new_copy, delivered_minutes=8, account=CONSUMER)
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 3}


def test_access_denied_on_one_source_shows_on_its_health_and_others_proceed(trail_org):
    trail_org.calls(read_calls(2))
    broken = TrailSource.objects.create(
        name="broken",
        bucket=trail_org.trail["bucket"],
        region="eu-west-1",
        kind=TrailSource.Kind.ACCOUNT,
        account_id=CONSUMER,
        role_arn=trail_org.trail["role_arn"],
        external_id="wrong-external-id",
    )
    clear_session_cache()
    ingest_all()
    broken.refresh_from_db()
    assert "access denied" in broken.last_error.lower()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 2}


def test_a_file_larger_than_the_buffer_streams_in_bounded_memory(trail_org, settings):
    settings.PANTRY_USAGE_MAX_BUFFER_MB = 1
    info = trail_org.bad_file("huge", size_mb=3)
    ingest_all()
    file = TrailFile.objects.get(key=info["key"])
    assert file.state == "done", file.error
    assert file.events_kept == info["valid_records"]
    assert sum(UsageDaily.objects.values_list("calls", flat=True)) == info["valid_records"]


def test_raw_events_past_retention_are_deleted_and_rollups_stay(trail_org, settings):
    trail_org.calls(read_calls(3) + [dict(c, error="denied") for c in read_calls(2, group="payments")])
    ingest_all()
    before = usage_counts()
    settings.PANTRY_USAGE_RAW_RETENTION_DAYS = 1
    settings.PANTRY_USAGE_DENIED_RETENTION_DAYS = 3650
    deleted = services.raw_events_prune()
    assert deleted == 3
    assert set(CloudTrailEvent.objects.values_list("outcome", flat=True)) == {"denied"}
    assert usage_counts() == before


def test_operator_actions_on_sources_are_audited(trail_org, django_user_model):
    from portal.models import AuditEvent

    operator = django_user_model.objects.create_user("olga", password="x")
    source = services.trail_source_update(actor=operator, source=trail_org.source, enabled=False)
    assert source.enabled is False
    day = dt.date(2026, 11, 20)
    services.trail_files_replay_request(actor=operator, source=source, start=day, end=day)
    with pytest.raises(ValueError):
        services.trail_files_replay_request(actor=operator, source=source, start=day, end=day - dt.timedelta(days=1))
    services.trail_source_delete(actor=operator, source=source)
    assert not TrailSource.objects.exists()
    actions = list(AuditEvent.objects.filter(actor_username="olga").order_by("id").values_list("action", flat=True))
    assert actions == ["trail_source.updated", "trail_source.replay_requested", "trail_source.deleted"]
    rows = AuditEvent.objects.filter(actor_username="olga")
    assert {(r.object_type, r.object_id, r.object_label) for r in rows} == {
        ("trail_source", str(source.uuid), source.name)
    }
    # The external id (a confused-deputy guard) is recorded as set, never by value.
    after = AuditEvent.objects.get(action="trail_source.updated").after
    assert after["external_id_set"] is True and trail_org.trail["external_id"] not in str(after)


def test_a_file_older_than_the_listing_look_back_is_found_by_a_replay(trail_org):
    trail_org.calls(read_calls(1), delivered_minutes=300)
    ingest_all()
    trail_org.calls(read_calls(2, minute=10), delivered_minutes=20)  # 4h40 earlier than the newest
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 1}
    day = dt.date(2026, 11, 20)
    replay = services.trail_files_replay(actor=None, source=trail_org.source, start=day, end=day)
    assert replay.new_files == 2  # the caller's and the owner's copies
    ingest_all()
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 3}


def test_ingest_lag_is_the_oldest_waiting_files_age_and_zero_once_done(trail_org):
    assert services.ingest_lag_seconds() == 0.0
    trail_org.calls(read_calls(1))
    services.trail_sources_list()
    waited = services.ingest_lag_seconds()
    delivered = dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC)
    assert waited == pytest.approx((dt.datetime.now(dt.UTC) - delivered).total_seconds(), abs=60)
    ingest_all()
    assert services.ingest_lag_seconds() == 0.0
    TrailSource.objects.update(enabled=False)
    assert services.ingest_lag_seconds() is None


def test_a_source_another_worker_is_listing_is_skipped_until_that_listing_ends(trail_org):
    """Beat asks for a listing every 30 s; against a slow bucket one listing outlasts that, and
    each tick used to start another of the same source until listings filled every worker."""
    import psycopg
    from django.db import connection

    trail_org.calls(read_calls(2))
    other_worker = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    try:
        held = other_worker.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [services.LISTING_LOCK_KEY, trail_org.source.pk]
        ).fetchone()[0]
        assert held
        assert services.trail_sources_list() == {}
        assert not TrailFile.objects.exists()
    finally:
        other_worker.close()  # a worker that dies frees its lock with its connection
    listed = services.trail_sources_list()
    assert listed["organisation trail"].new_files == TrailFile.objects.count() > 0
    # The lock went with the listing: the next tick lists again. (What it finds may not be nothing:
    # the sandbox's trail records the listings' own AssumeRole calls, delivered a moment later.)
    assert "organisation trail" in services.trail_sources_list()

"""The catalog sync against the sandbox AWS endpoint, through boto3 over HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.gateways.featurestore import FeatureStoreGateway
from catalog.models import Feature, FeatureGroup, SyncRun, SyncState
from catalog.services import sync as sync_services
from portal import aws
from sandbox import control
from tests.aws_fixtures import sandbox_client, sandbox_feature_group, sandbox_owner_account

pytestmark = pytest.mark.django_db

CENTRAL = "111111111111"
PAYMENTS = "222222222222"


def run_sync(account, region="eu-west-1") -> SyncRun:
    """Queue and execute a sync in this process (the Celery path is tested separately)."""
    (run,) = sync_services.sync_request(account=account, region=region)
    return sync_services.sync_run_execute(run_uuid=str(run.uuid))


@pytest.fixture
def central(aws_sandbox):
    return sandbox_owner_account(aws_sandbox.url, account_id=CENTRAL, name="central-feature-store")


def test_full_sync_fills_catalog_with_groups_schema_tags_and_feature_metadata(aws_sandbox, central):
    sandbox_feature_group(
        aws_sandbox.url,
        CENTRAL,
        "customer_profile",
        features=6,
        description="Customer attributes, one row per customer.",
        tags={"team": "crm", "pii": "true"},
        feature_descriptions={"f_0000": "Age of the customer in years"},
    )
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "card_transactions_daily", features=4)

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert (run.groups_seen, run.groups_created, run.groups_deleted) == (2, 2, 0)
    group = FeatureGroup.objects.get(name="customer_profile")
    assert group.account == central
    assert group.description == "Customer attributes, one row per customer."
    assert group.tags == {"team": "crm", "pii": "true"}
    assert group.record_identifier_feature == "record_id"
    assert group.online_store_enabled and group.offline_store_enabled
    assert group.offline_s3_uri.startswith(f"s3://sagemaker-featurestore-{CENTRAL}-eu-west-1/")
    assert group.glue_table  # the sandbox generates the Glue table, as AWS does
    assert list(group.features.values_list("name", "type")) == [
        ("record_id", "String"),
        ("event_time", "Fractional"),
        ("f_0000", "String"),
        ("f_0001", "Integral"),
        ("f_0002", "Fractional"),
        ("f_0003", "String"),
    ]
    assert group.features.get(name="f_0000").description == "Age of the customer in years"
    assert "Age of the customer" in group.feature_words
    state = SyncState.objects.get(account=central, region="eu-west-1")
    assert state.last_success_at is not None and state.last_run == run


def test_full_sync_costs_one_search_per_hundred_groups_and_features(aws_sandbox, central):
    for i in range(3):
        sandbox_feature_group(aws_sandbox.url, CENTRAL, f"group_{i}", features=50)

    run = run_sync(central)

    # 3 groups → 1 page; 150 features → 2 pages; plus the AssumeRole.
    catalog_calls = {op: n for op, n in run.api_calls.items() if op in ("AssumeRole", "Search")}
    assert catalog_calls == {"AssumeRole": 1, "Search": 3}
    # New groups get their lineage read in the same run: one QueryLineage each.
    assert run.lineage_refreshed
    assert run.api_calls["QueryLineage"] == 3


def test_unchanged_resync_writes_no_rows_and_costs_one_page_per_hundred_groups_plus_one(aws_sandbox, central, settings):
    # Steady state: every edit is older than the metadata overlap (a sync re-reads the
    # edits of the last PANTRY_SYNC_METADATA_OVERLAP_SECONDS, in case Search indexed them late).
    settings.PANTRY_SYNC_METADATA_OVERLAP_SECONDS = 0
    for i in range(120):
        sandbox_feature_group(aws_sandbox.url, CENTRAL, f"group_{i:03d}", features=3)
    # Search filters on whole seconds (>= the watermark rounded down), so edits made in the
    # same second as the first run's start are, rightly, read again. Start in the next second.
    time.sleep(1.05 - (time.time() % 1))
    first = run_sync(central)
    assert first.groups_created == 120

    with CaptureQueriesContext(connection) as queries:
        second = run_sync(central)

    assert second.status == SyncRun.Status.SUCCEEDED
    assert (second.groups_created, second.groups_updated, second.groups_deleted, second.features_written) == (
        0,
        0,
        0,
        0,
    )
    # ⌈120/100⌉ group pages + 1 metadata page; credentials are cached, so no
    # AssumeRole; lineage was read a moment ago, so it is not read again.
    assert second.api_calls == {"Search": 3}
    assert not second.lineage_refreshed
    catalog_writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and (
            '"catalog_featuregroup"' in q["sql"].split(" WHERE ")[0]
            or '"catalog_feature"' in q["sql"].split(" WHERE ")[0]
        )
    ]
    assert catalog_writes == []


def test_pages_through_many_search_pages(aws_sandbox, central):
    for i in range(250):
        sandbox_feature_group(aws_sandbox.url, CENTRAL, f"g_{i:03d}", features=2)

    run = run_sync(central)

    assert run.groups_created == 250
    assert FeatureGroup.objects.filter(account=central).count() == 250
    assert Feature.objects.filter(feature_group__account=central).count() == 500
    assert run.api_calls["Search"] == 3 + 5  # 250 groups, 500 features


def test_a_group_with_2500_features_syncs_completely(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "very_wide_group", features=2500)

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    group = FeatureGroup.objects.get(name="very_wide_group")
    assert group.features.count() == 2500
    assert group.feature_count == 2500
    assert group.features.order_by("-position").first().name == "f_2497"


def test_group_changed_in_aws_is_updated(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "customer_profile", features=3, tags={"team": "crm"})
    run_sync(central)
    sm = sandbox_client(aws_sandbox.url, CENTRAL)
    sm.update_feature_group(
        FeatureGroupName="customer_profile",
        FeatureAdditions=[{"FeatureName": "lifetime_value", "FeatureType": "Fractional"}],
    )
    sm.update_feature_metadata(
        FeatureGroupName="customer_profile", FeatureName="lifetime_value", Description="Predicted 3-year value"
    )

    run = run_sync(central)

    assert (run.groups_updated, run.groups_created) == (1, 0)
    group = FeatureGroup.objects.get(name="customer_profile")
    assert group.features.get(name="lifetime_value").description == "Predicted 3-year value"
    assert group.feature_count == 4


def test_feature_description_changed_in_aws_is_picked_up_incrementally(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "customer_profile", features=3)
    run_sync(central)
    sandbox_client(aws_sandbox.url, CENTRAL).update_feature_metadata(
        FeatureGroupName="customer_profile",
        FeatureName="f_0000",
        Description="Customer segment",
        ParameterAdditions=[{"Key": "unit", "Value": "label"}],
    )

    run = run_sync(central)

    feature = Feature.objects.get(feature_group__name="customer_profile", name="f_0000")
    assert feature.description == "Customer segment"
    assert feature.parameters == {"unit": "label"}
    assert run.features_written == 1
    assert "Customer segment" in feature.feature_group.feature_words


def test_group_deleted_in_aws_is_marked_deleted_not_removed(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "keep_me")
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "drop_me")
    run_sync(central)
    sandbox_client(aws_sandbox.url, CENTRAL).delete_feature_group(FeatureGroupName="drop_me")

    run = run_sync(central)

    assert run.groups_deleted == 1
    dropped = FeatureGroup.objects.get(name="drop_me")
    assert dropped.deleted_at is not None
    assert dropped.features.count() == 5  # kept for history
    assert FeatureGroup.objects.live().filter(account=central).get().name == "keep_me"


def test_a_failed_listing_never_marks_groups_deleted(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1")
    run_sync(central)
    control.inject_fault(aws_sandbox.url, error_code="InternalFailure", status=500, operation="Search", count=-1)

    run = run_sync(central)

    assert run.status == SyncRun.Status.FAILED
    assert run.complete_listing is False
    assert FeatureGroup.objects.get(name="g1").deleted_at is None


def test_access_denied_on_one_account_fails_only_that_account(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "central_group")
    payments = sandbox_owner_account(aws_sandbox.url, account_id=PAYMENTS, name="payments-ml")
    sandbox_feature_group(aws_sandbox.url, PAYMENTS, "payments_group")
    run_sync(payments)
    # The role's trust policy names another external id now: AssumeRole is denied.
    payments.external_id = "pantry-rotated-elsewhere"
    payments.save()
    aws.clear_session_cache()

    denied = run_sync(payments)
    ok = run_sync(central)

    assert denied.status == SyncRun.Status.FAILED
    assert denied.error_code == "AccessDenied"
    assert "AssumeRole" in denied.error_message
    assert ok.status == SyncRun.Status.SUCCEEDED
    assert FeatureGroup.objects.get(name="payments_group").deleted_at is None  # untouched
    assert FeatureGroup.objects.get(name="central_group").deleted_at is None
    state = SyncState.objects.get(account=payments)
    assert "AccessDenied" in state.last_error


def test_throttling_is_retried_then_the_sync_succeeds(aws_sandbox, central, settings):
    settings.PANTRY_AWS_MAX_ATTEMPTS = 5
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1")
    control.inject_fault(aws_sandbox.url, error_code="ThrottlingException", operation="Search", count=2)

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert FeatureGroup.objects.filter(name="g1").exists()


def test_throttling_past_retries_fails_the_run_with_the_aws_error(aws_sandbox, central, settings):
    settings.PANTRY_AWS_MAX_ATTEMPTS = 2
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1")
    control.inject_fault(aws_sandbox.url, error_code="ThrottlingException", operation="Search", count=-1)

    run = run_sync(central)

    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == "ThrottlingException"


def test_running_the_same_task_twice_ends_in_the_same_state(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1", features=4)
    (run,) = sync_services.sync_request(account=central, region="eu-west-1")

    first = sync_services.sync_run_execute(run_uuid=str(run.uuid))
    second = sync_services.sync_run_execute(run_uuid=str(run.uuid))

    assert first.status == second.status == SyncRun.Status.SUCCEEDED
    assert second.finished_at == first.finished_at
    assert FeatureGroup.objects.count() == 1
    assert Feature.objects.count() == 4


def test_a_second_request_while_one_is_queued_returns_the_same_run(aws_sandbox, central):
    (a,) = sync_services.sync_request(account=central, region="eu-west-1")
    (b,) = sync_services.sync_request(account=central, region="eu-west-1")
    assert a.pk == b.pk


def test_only_one_sync_per_account_and_region_runs_at_a_time(aws_sandbox, central):
    (running,) = sync_services.sync_request(account=central, region="eu-west-1")
    SyncRun.objects.filter(pk=running.pk).update(status=SyncRun.Status.RUNNING)
    from django.utils import timezone

    SyncRun.objects.filter(pk=running.pk).update(heartbeat_at=timezone.now())
    other = SyncRun.objects.create(account=central, region="eu-west-1")

    result = sync_services.sync_run_execute(run_uuid=str(other.uuid))

    assert result.status == SyncRun.Status.SKIPPED


def _stuck_run(account, *, heartbeat_age: timedelta) -> SyncRun:
    """A run whose worker was killed: still `running`, its heartbeat `heartbeat_age` old."""
    from django.utils import timezone

    beat = timezone.now() - heartbeat_age
    return SyncRun.objects.create(
        account=account, region="eu-west-1", status=SyncRun.Status.RUNNING, started_at=beat, heartbeat_at=beat
    )


def test_a_run_whose_worker_died_is_abandoned_and_frees_the_lock(aws_sandbox, central):
    stale = _stuck_run(central, heartbeat_age=timedelta(hours=1))
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1")

    run = run_sync(central)

    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.ABANDONED
    assert run.status == SyncRun.Status.SUCCEEDED


def test_a_sync_request_starts_at_once_when_the_running_syncs_heartbeat_is_stale(aws_sandbox, central, settings):
    settings.PANTRY_SYNC_STALE_SECONDS = 300
    stuck = _stuck_run(central, heartbeat_age=timedelta(minutes=6))
    alive = _stuck_run(
        sandbox_owner_account(aws_sandbox.url, account_id=PAYMENTS, name="payments"), heartbeat_age=timedelta(minutes=4)
    )

    (run,) = sync_services.sync_request(account=central, region="eu-west-1")
    (same,) = sync_services.sync_request(account=alive.account, region="eu-west-1")

    stuck.refresh_from_db()
    assert stuck.status == SyncRun.Status.ABANDONED
    assert run.pk != stuck.pk and run.status == SyncRun.Status.QUEUED
    assert same.pk == alive.pk  # a heartbeat within the threshold still holds the lock


def test_the_sweep_abandons_stale_runs_and_shows_it_on_the_accounts_health(aws_sandbox, central, settings):
    settings.PANTRY_SYNC_STALE_SECONDS = 300
    stuck = _stuck_run(central, heartbeat_age=timedelta(minutes=6))
    fresh = _stuck_run(
        sandbox_owner_account(aws_sandbox.url, account_id=PAYMENTS, name="payments"), heartbeat_age=timedelta(seconds=5)
    )

    assert sync_services.sync_runs_sweep() == 1

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == SyncRun.Status.ABANDONED and stuck.finished_at is not None
    assert "heartbeat" in stuck.error_message
    assert fresh.status == SyncRun.Status.RUNNING
    state = SyncState.objects.get(account=central, region="eu-west-1")
    assert state.last_run == stuck and state.last_failure_at is not None
    assert sync_services.sync_runs_sweep() == 0


def test_the_sweep_abandons_a_run_whose_task_never_started(aws_sandbox, central, settings):
    from django.utils import timezone

    settings.PANTRY_SYNC_QUEUED_TIMEOUT_SECONDS = 3600
    lost = SyncRun.objects.create(account=central, region="eu-west-1", queued_at=timezone.now() - timedelta(hours=2))
    waiting = SyncRun.objects.create(
        account=central, region="us-east-1", queued_at=timezone.now() - timedelta(minutes=5)
    )

    assert sync_services.sync_runs_sweep() == 1

    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert lost.status == SyncRun.Status.ABANDONED
    assert waiting.status == SyncRun.Status.QUEUED
    # The task arriving late finds the run abandoned and does nothing.
    assert sync_services.sync_run_execute(run_uuid=str(lost.uuid)).status == SyncRun.Status.ABANDONED


def test_beat_runs_the_sweep_every_minute(settings):
    from portal.celery import app

    app.loader.import_default_modules()
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "catalog.tasks.sync_runs_sweep"]
    assert len(entries) == 1 and entries[0]["schedule"] == 60
    assert "catalog.tasks.sync_runs_sweep" in app.tasks


def test_the_run_heartbeats_on_every_page(aws_sandbox, central, aws_call_hooks):
    for i in range(250):
        sandbox_feature_group(aws_sandbox.url, CENTRAL, f"g_{i:03d}", features=2)
    beats = []

    def record():
        run = SyncRun.objects.get(account=central, status=SyncRun.Status.RUNNING)
        beats.append((run.heartbeat_at, run.groups_seen))

    for page in (2, 3):
        aws_call_hooks.before("Search", record, nth=page, Resource="FeatureGroup")

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED
    (first, seen_1), (second, seen_2) = beats
    assert run.started_at < first < second
    assert (seen_1, seen_2) == (100, 200)


def test_an_interrupted_sync_followed_by_a_complete_one_converges(aws_sandbox, central, monkeypatch):
    for i in range(150):
        sandbox_feature_group(aws_sandbox.url, CENTRAL, f"g_{i:03d}", features=3)
    original = FeatureStoreGateway.feature_group_pages

    def interrupted(self):
        for n, page in enumerate(original(self)):
            if n == 1:
                raise aws.AwsUnavailable("connection reset by peer", code="EndpointConnectionError", operation="Search")
            yield page

    with monkeypatch.context() as patch:
        patch.setattr(sync_services, "BATCH_SIZE", 50)
        patch.setattr(FeatureStoreGateway, "feature_group_pages", interrupted)
        broken = run_sync(central)
    assert broken.status == SyncRun.Status.FAILED
    assert broken.complete_listing is False
    assert 0 < FeatureGroup.objects.count() < 150
    assert not FeatureGroup.objects.filter(deleted_at__isnull=False).exists()

    complete = run_sync(central)

    assert complete.status == SyncRun.Status.SUCCEEDED
    assert FeatureGroup.objects.live().count() == 150
    assert Feature.objects.count() == 450
    assert all(len(g.feature_words) > 0 for g in FeatureGroup.objects.all())


def test_a_group_that_comes_back_is_live_again(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "phoenix")
    run_sync(central)
    sandbox_client(aws_sandbox.url, CENTRAL).delete_feature_group(FeatureGroupName="phoenix")
    run_sync(central)
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "phoenix")

    run_sync(central)

    assert FeatureGroup.objects.get(name="phoenix").deleted_at is None


def test_lineage_is_refreshed_when_its_interval_has_passed_even_if_nothing_changed(aws_sandbox, central, settings):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1")
    run_sync(central)
    SyncState.objects.filter(account=central).update(lineage_synced_at=None)

    run = run_sync(central)

    assert run.lineage_refreshed
    assert run.api_calls.get("QueryLineage") == 1


def test_a_lineage_read_failure_fails_the_run_but_keeps_the_catalog(aws_sandbox, central):
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "g1")
    control.inject_fault(aws_sandbox.url, error_code="AccessDeniedException", operation="QueryLineage", count=-1)

    run = run_sync(central)

    assert run.status == SyncRun.Status.FAILED
    assert "QueryLineage" in run.error_message
    assert FeatureGroup.objects.filter(name="g1", deleted_at__isnull=True).exists()

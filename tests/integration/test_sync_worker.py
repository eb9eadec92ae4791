"""The sync end to end: a request queues a task, a real Celery worker runs it
against the sandbox AWS endpoint over HTTP, and the catalog fills."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import FeatureGroup, SyncRun
from catalog.services import sync as sync_services
from sandbox import control
from tests.aws_fixtures import sandbox_feature_group, sandbox_owner_account, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _finished(run_uuid):
    run = SyncRun.objects.get(uuid=run_uuid)
    return run if not run.is_active else None


def test_worker_syncs_two_accounts_and_one_failure_does_not_block_the_other(aws_sandbox, celery_worker_process):
    central = sandbox_owner_account(aws_sandbox.url, account_id="111111111111", name="central-feature-store")
    payments = sandbox_owner_account(aws_sandbox.url, account_id="222222222222", name="payments-ml")
    for i in range(3):
        sandbox_feature_group(aws_sandbox.url, "111111111111", f"customer_group_{i}", features=8)
    sandbox_feature_group(aws_sandbox.url, "222222222222", "payments_group", features=4)
    control.inject_fault(
        aws_sandbox.url,
        error_code="AccessDeniedException",
        status=400,
        operation="Search",
        account_id="222222222222",
        count=-1,
    )

    (central_run,) = sync_services.sync_request(account=central)
    (payments_run,) = sync_services.sync_request(account=payments)

    central_done = wait_until(lambda: _finished(central_run.uuid), timeout=90, message="central sync")
    payments_done = wait_until(lambda: _finished(payments_run.uuid), timeout=90, message="payments sync")
    assert central_done.status == SyncRun.Status.SUCCEEDED, central_done.error_message
    assert payments_done.status == SyncRun.Status.FAILED
    assert payments_done.error_code == "AccessDeniedException"
    assert sorted(FeatureGroup.objects.live().values_list("name", flat=True)) == [
        "customer_group_0",
        "customer_group_1",
        "customer_group_2",
    ]
    assert central_done.api_calls["Search"] == 2


def test_operator_triggers_a_sync_from_the_account_page_and_watches_it_finish(
    aws_sandbox, celery_worker_process, client, operator
):
    central = sandbox_owner_account(aws_sandbox.url, account_id="333333333333", name="growth-analytics")
    sandbox_feature_group(aws_sandbox.url, "333333333333", "customer_profile", features=5)
    client.force_login(operator)

    response = client.post(reverse("catalog:account_sync", args=[central.uuid]))

    assert response.status_code == 302
    run = SyncRun.objects.get(account=central)
    wait_until(lambda: _finished(run.uuid), timeout=90, message="sync")
    page = client.get(reverse("catalog:syncrun_detail", args=[run.uuid]))
    assert "Succeeded" in page.content.decode()
    assert 'hx-trigger="every 2s"' not in page.content.decode()  # polling stops when done
    assert client.get(reverse("catalog:catalog_list")).content.decode().count("customer_profile") >= 1


@pytest.fixture
def celery_worker_env():
    # The worker judges heartbeats with a short threshold so the test need not wait minutes;
    # the test process uses the same value through `settings`.
    return {"PANTRY_SYNC_STALE_SECONDS": "3"}


def test_a_worker_killed_mid_sync_leaves_a_run_that_the_sweep_abandons_and_a_new_sync_recovers(
    aws_sandbox, celery_worker_process, settings
):
    import os
    import signal
    import time

    from catalog import tasks
    from tests.aws_fixtures import worker_children

    settings.PANTRY_SYNC_STALE_SECONDS = 3
    central = sandbox_owner_account(aws_sandbox.url, account_id="111111111111", name="central-feature-store")
    for i in range(250):
        sandbox_feature_group(aws_sandbox.url, "111111111111", f"g_{i:03d}", features=2)
    # Slow Search down so the kill lands while the run is paging.
    control.add_latency(aws_sandbox.url, 1.0, operation="Search")
    (run,) = sync_services.sync_request(account=central)

    wait_until(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING, groups_seen__gt=0).exists(),
        timeout=60,
        message="the run to be part-way through its listing",
    )
    for pid in worker_children(celery_worker_process):
        os.kill(pid, signal.SIGKILL)
    time.sleep(4)  # past the stale threshold, with no worker left on the run
    killed = SyncRun.objects.get(pk=run.pk)
    assert killed.status == SyncRun.Status.RUNNING  # nothing else would ever finish it

    tasks.sync_runs_sweep.delay()  # what beat queues every minute
    swept = wait_until(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.ABANDONED).first(),
        timeout=60,
        message="the sweep to abandon the run",
    )
    assert "heartbeat" in swept.error_message
    control.clear_faults(aws_sandbox.url)
    (rerun,) = sync_services.sync_request(account=central)
    assert rerun.pk != run.pk
    done = wait_until(lambda: _finished(rerun.uuid), timeout=90, message="the new sync")
    assert done.status == SyncRun.Status.SUCCEEDED, done.error_message
    assert FeatureGroup.objects.live().filter(account=central).count() == 250
    assert not FeatureGroup.objects.filter(deleted_at__isnull=False).exists()


def test_a_sync_requested_after_the_worker_died_starts_at_once(aws_sandbox, celery_worker_process, settings):
    import os
    import signal
    import time

    from tests.aws_fixtures import worker_children

    settings.PANTRY_SYNC_STALE_SECONDS = 3
    central = sandbox_owner_account(aws_sandbox.url, account_id="111111111111", name="central-feature-store")
    for i in range(150):
        sandbox_feature_group(aws_sandbox.url, "111111111111", f"g_{i:03d}", features=2)
    control.add_latency(aws_sandbox.url, 1.0, operation="Search")
    (run,) = sync_services.sync_request(account=central)
    wait_until(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING, groups_seen__gt=0).exists(),
        timeout=60,
        message="the run to be part-way through its listing",
    )
    for pid in worker_children(celery_worker_process):
        os.kill(pid, signal.SIGKILL)
    time.sleep(4)
    control.clear_faults(aws_sandbox.url)

    (rerun,) = sync_services.sync_request(account=central)  # no sweep in between

    assert rerun.pk != run.pk
    assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.ABANDONED
    done = wait_until(lambda: _finished(rerun.uuid), timeout=90, message="the new sync")
    assert done.status == SyncRun.Status.SUCCEEDED, done.error_message

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

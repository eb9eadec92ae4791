"""The sync while AWS changes under it: groups edited, deleted or created while it pages,
feature metadata that Search indexes late, sessions that expire mid-run. Nothing live may be
marked deleted, and nothing AWS holds may be lost for good."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from catalog.models import Feature, FeatureGroup, SyncRun
from catalog.services import sync as sync_services
from sandbox import control
from tests.aws_fixtures import sandbox_client, sandbox_feature_group, sandbox_owner_account

pytestmark = pytest.mark.django_db

CENTRAL = "111111111111"
FEATURE_GROUPS = {"Resource": "FeatureGroup"}
FEATURE_METADATA = {"Resource": "FeatureMetadata"}


def run_sync(account, region="eu-west-1") -> SyncRun:
    (run,) = sync_services.sync_request(account=account, region=region)
    return sync_services.sync_run_execute(run_uuid=str(run.uuid))


@pytest.fixture
def central(aws_sandbox):
    return sandbox_owner_account(aws_sandbox.url, account_id=CENTRAL, name="central-feature-store")


def _groups(url: str, count: int, features: int = 3) -> None:
    for i in range(count):
        sandbox_feature_group(url, CENTRAL, f"g_{i:03d}", features=features)


# -- listing -------------------------------------------------------------------------------


def test_a_group_edited_while_the_sync_pages_is_not_marked_deleted(aws_sandbox, central, aws_call_hooks):
    # In Search's default order (LastModifiedTime, descending) the edit moves g_010 from the
    # second page to the front, behind the page token: a sync paging that way never sees it.
    _groups(aws_sandbox.url, 150)
    assert run_sync(central).groups_created == 150
    sm = sandbox_client(aws_sandbox.url, CENTRAL)
    arn = sm.describe_feature_group(FeatureGroupName="g_010")["FeatureGroupArn"]
    aws_call_hooks.after(
        "Search", lambda: sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "prod"}]), **FEATURE_GROUPS
    )

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.groups_deleted == 0
    assert FeatureGroup.objects.live().filter(account=central).count() == 150
    run_sync(central)
    assert FeatureGroup.objects.get(name="g_010").tags == {"stage": "prod"}


def test_a_listing_that_misses_a_live_group_does_not_mark_it_deleted(aws_sandbox, central, aws_call_hooks):
    # However AWS pages, a group missing from one listing is only gone when AWS says so.
    _groups(aws_sandbox.url, 3)
    run_sync(central)

    def without_g_001(response):
        results = [r for r in response["Results"] if r["FeatureGroup"]["FeatureGroupName"] != "g_001"]
        return {**response, "Results": results}

    aws_call_hooks.rewrite("Search", without_g_001, **FEATURE_GROUPS)

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.groups_deleted == 0
    assert FeatureGroup.objects.get(name="g_001").deleted_at is None
    # One confirmation for the one missing group, not one per group.
    assert run.api_calls["DescribeFeatureGroup"] == 1


def test_a_group_deleted_while_the_sync_pages_is_marked_deleted_once_aws_confirms(aws_sandbox, central, aws_call_hooks):
    _groups(aws_sandbox.url, 150)
    run_sync(central)
    sm = sandbox_client(aws_sandbox.url, CENTRAL)
    aws_call_hooks.after("Search", lambda: sm.delete_feature_group(FeatureGroupName="g_120"), **FEATURE_GROUPS)

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.groups_deleted == 1
    assert FeatureGroup.objects.get(name="g_120").deleted_at is not None
    assert FeatureGroup.objects.live().filter(account=central).count() == 149
    assert run.api_calls["DescribeFeatureGroup"] == 1


def test_a_group_created_while_the_sync_pages_is_in_the_catalog_after_the_run(aws_sandbox, central, aws_call_hooks):
    _groups(aws_sandbox.url, 120)
    run_sync(central)
    aws_call_hooks.after(
        "Search",
        lambda: sandbox_feature_group(
            aws_sandbox.url, CENTRAL, "latecomer", features=3, feature_descriptions={"f_0000": "Arrived mid-sync"}
        ),
        **FEATURE_GROUPS,
    )

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    late = FeatureGroup.objects.get(name="latecomer")
    assert late.deleted_at is None
    assert late.features.get(name="f_0000").description == "Arrived mid-sync"
    assert run.groups_deleted == 0


# -- feature metadata ----------------------------------------------------------------------


def test_a_metadata_edit_that_search_indexes_late_is_picked_up_by_a_later_sync(aws_sandbox, central):
    _groups(aws_sandbox.url, 2)
    run_sync(central)
    sm = sandbox_client(aws_sandbox.url, CENTRAL)
    control.set_search_lag(aws_sandbox.url, 600)
    sm.update_feature_metadata(FeatureGroupName="g_000", FeatureName="f_0000", Description="Indexed late")
    control.set_search_lag(aws_sandbox.url, 0)
    time.sleep(1.1)  # Search filters on whole seconds: the next edit must be a later second
    sm.update_feature_metadata(FeatureGroupName="g_001", FeatureName="f_0000", Description="Indexed at once")

    first = run_sync(central)
    control.flush_search_index(aws_sandbox.url)
    second = run_sync(central)

    assert first.status == second.status == SyncRun.Status.SUCCEEDED
    assert Feature.objects.get(feature_group__name="g_001", name="f_0000").description == "Indexed at once"
    assert Feature.objects.get(feature_group__name="g_000", name="f_0000").description == "Indexed late"


def test_a_feature_added_after_the_listing_gets_its_description_on_the_next_sync(aws_sandbox, central, aws_call_hooks):
    _groups(aws_sandbox.url, 2)
    run_sync(central)
    sm = sandbox_client(aws_sandbox.url, CENTRAL)

    def add_feature_then_edit_another():
        sm.update_feature_group(
            FeatureGroupName="g_000", FeatureAdditions=[{"FeatureName": "late_feature", "FeatureType": "String"}]
        )
        sm.update_feature_metadata(FeatureGroupName="g_000", FeatureName="late_feature", Description="Added late")
        time.sleep(1.1)  # Search filters on whole seconds: the next edit must be a later second
        sm.update_feature_metadata(FeatureGroupName="g_001", FeatureName="f_0000", Description="Edited after it")

    # Between the group listing (which lacks the feature) and the metadata search (which has it).
    aws_call_hooks.before("Search", add_feature_then_edit_another, **FEATURE_METADATA)
    first = run_sync(central)
    assert not Feature.objects.filter(name="late_feature").exists()

    second = run_sync(central)

    assert first.status == second.status == SyncRun.Status.SUCCEEDED
    assert Feature.objects.get(feature_group__name="g_000", name="late_feature").description == "Added late"
    assert Feature.objects.get(feature_group__name="g_001", name="f_0000").description == "Edited after it"


# -- credentials -------------------------------------------------------------------------------


def test_a_session_that_expires_mid_listing_is_renewed_and_the_run_succeeds(aws_sandbox, central, aws_call_hooks):
    _groups(aws_sandbox.url, 150)
    aws_call_hooks.after("Search", lambda: control.expire_sessions(aws_sandbox.url, role_arn=central.role_arn))

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.groups_created == 150
    assert run.api_calls["AssumeRole"] == 2


def test_a_session_that_expires_during_the_lineage_read_is_renewed(aws_sandbox, central, aws_call_hooks, settings):
    settings.PANTRY_LINEAGE_CONCURRENCY = 4
    _groups(aws_sandbox.url, 8)
    # Before the third call, not after the second: with four threads the other reads could all
    # finish while the expiry is still on its way to the sandbox, and then no call would see it.
    aws_call_hooks.before(
        "QueryLineage", lambda: control.expire_sessions(aws_sandbox.url, role_arn=central.role_arn), nth=3
    )

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.lineage_refreshed
    assert run.api_calls["QueryLineage"] == 8  # botocore's retry of a call is not another call
    assert run.api_calls["AssumeRole"] == 2


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("ExpiredTokenException", "credentials expired"),
        ("UnrecognizedClientException", "invalid credentials"),
        ("AccessDeniedException", "access denied"),
    ],
)
def test_account_health_names_the_credential_problem(aws_sandbox, client, operator, code, shown):
    growth = "333333333333"  # not one of the personas' accounts
    account = sandbox_owner_account(aws_sandbox.url, account_id=growth, name="growth-analytics")
    sandbox_feature_group(aws_sandbox.url, growth, "g")
    control.inject_fault(aws_sandbox.url, error_code=code, operation="Search", account_id=growth, count=-1)

    run = run_sync(account)

    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == code
    client.force_login(operator)
    for url in (reverse("catalog:account_detail", args=[account.uuid]), reverse("catalog:account_list")):
        page = client.get(url).content.decode()
        assert shown in page
        for other in {"credentials expired", "invalid credentials", "access denied"} - {shown}:
            assert other not in page


def test_a_sync_a_day_later_renews_the_session_this_process_cached(aws_sandbox, central):
    import datetime as dt

    _groups(aws_sandbox.url, 2)
    assert run_sync(central).api_calls["AssumeRole"] == 1
    control.move_clock(aws_sandbox.url, advance=dt.timedelta(days=1))

    run = run_sync(central)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.api_calls["AssumeRole"] == 1  # the cached session was rejected as expired and renewed

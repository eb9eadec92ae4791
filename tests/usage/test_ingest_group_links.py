"""A usage row's catalog group id never names a group that is gone (usage.models, GROUP_LINK_NOTE):
the ids carry no foreign-key constraint, so the ingestion locks the groups it links and a trigger
unlinks deleted groups."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tests.aws_fixtures import wait_until
from tests.usage.test_ingest import reads
from tests.usage.trail_helpers import CONSUMER, group_arn, ingest_all, usage_counts
from usage import services
from usage.models import CloudTrailEvent, TrailFile, UsageDaily, UsageDailyTotal, UsagePairDaily

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("usage-ingest")]

LINKED = (CloudTrailEvent, UsageDaily, UsageDailyTotal, UsagePairDaily)


def _dangling_ids() -> list[tuple[str, int]]:
    """(table, id) of every group id in the usage tables that no catalog group has."""
    found = []
    with connection.cursor() as cur:
        for model in LINKED:
            table = model._meta.db_table
            cur.execute(
                f"SELECT DISTINCT u.feature_group_id FROM {table} u"  # noqa: S608 (model metadata)
                " LEFT JOIN catalog_featuregroup fg ON fg.id = u.feature_group_id"
                " WHERE u.feature_group_id IS NOT NULL AND fg.id IS NULL"
            )
            found += [(table, row[0]) for row in cur.fetchall()]
    return found


def _linked_ids(arn: str) -> set:
    return {
        group_id
        for model in LINKED
        for group_id in model.objects.filter(feature_group_arn=arn).values_list("feature_group_id", flat=True)
    }


def _delete_waits_for_a_lock() -> bool:
    with connection.cursor() as cur:
        # Asked inside the batch's transaction, which would otherwise see its first snapshot again.
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND query LIKE 'DELETE FROM catalog_featuregroup%' AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0] > 0


def test_a_group_deleted_while_its_batch_commits_waits_and_leaves_no_dangling_id(trail_org, monkeypatch):
    trail_org.calls(reads(3))
    services.trail_sources_list()
    orders = group_arn("orders")
    errors: list[BaseException] = []

    def delete_orders() -> None:
        try:
            with connections["default"].cursor() as cur:  # this thread's own connection
                cur.execute("DELETE FROM catalog_featuregroup WHERE arn = %s", [orders])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    deleter = threading.Thread(target=delete_orders)

    def delete_mid_batch(stage: str) -> None:
        # The batch has written its events and rollups with the group's id, not yet committed.
        if stage == "counted" and not deleter.is_alive() and deleter.ident is None:
            deleter.start()
            wait_until(_delete_waits_for_a_lock, timeout=30, message="the delete to wait for the batch")

    monkeypatch.setattr(services, "fault_hook", delete_mid_batch)
    ingest_all()
    deleter.join(timeout=60)
    assert not errors
    assert not deleter.is_alive()
    # The batch committed (nothing failed, nothing to retry), then the delete unlinked its rows:
    # counted once, by ARN.
    assert set(TrailFile.objects.values_list("state", flat=True)) == {"done"}
    assert usage_counts() == {("GetRecord", CONSUMER, "orders", "success"): 3}
    assert _linked_ids(orders) == {None}
    assert _dangling_ids() == []


def test_deleting_groups_in_sql_unlinks_their_usage_and_keeps_the_counts(trail_org):
    trail_org.calls(reads(2) + reads(1, group="payments"))
    ingest_all()
    before = usage_counts()
    assert None not in _linked_ids(group_arn("orders"))
    with connection.cursor() as cur:
        cur.execute("DELETE FROM catalog_featuregroup WHERE arn = %s", [group_arn("orders")])
    assert _linked_ids(group_arn("orders")) == {None}
    assert None not in _linked_ids(group_arn("payments"))  # other groups keep their link
    assert _dangling_ids() == []
    assert usage_counts() == before


def test_deleting_a_group_through_the_orm_unlinks_its_usage_once_by_the_trigger(trail_org):
    from django.test.utils import CaptureQueriesContext

    from catalog.models import FeatureGroup

    trail_org.calls(reads(2))
    ingest_all()
    before = usage_counts()
    with CaptureQueriesContext(connection) as queries:
        FeatureGroup.objects.get(arn=group_arn("orders")).delete()
    assert _linked_ids(group_arn("orders")) == {None}
    assert _dangling_ids() == []
    assert usage_counts() == before
    # The trigger did it: Django ran no UPDATE of its own on the usage tables.
    assert not [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "usage_')]


def test_usage_counted_by_arn_links_to_a_group_found_later(trail_org):
    from catalog.models import AwsAccount, FeatureGroup

    trail_org.calls(reads(2, group="returns"))
    ingest_all()
    assert _linked_ids(group_arn("returns")) == {None}
    owner = AwsAccount.objects.get(account_id=group_arn("returns").split(":")[4])
    group = FeatureGroup.objects.create(account=owner, name="returns", region="eu-west-1", arn=group_arn("returns"))
    assert services.usage_groups_link() > 0
    assert _linked_ids(group_arn("returns")) == {group.pk}
    assert _dangling_ids() == []

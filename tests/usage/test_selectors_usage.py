"""The dashboard's figures come from the rollups and equal a direct count over the raw events."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import FeatureGroup
from tests.usage.dashboard_data import event, rollups_rebuild, usage_world
from usage import selectors
from usage.models import CloudTrailEvent
from usage.popularity import feature_groups_popularity_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return usage_world(org)


def _raw(filters: selectors.UsageFilters, scope: selectors.UsageScope | None = None):
    """Raw events inside the filters, counted in Python (the independent side of the comparison)."""
    out = []
    for e in CloudTrailEvent.objects.all():
        day = e.event_time.date()
        if not (filters.start <= day <= filters.end):
            continue
        if scope and not scope.sees_account(e.owner_account_id):
            continue
        if filters.owner_account_id and e.owner_account_id != filters.owner_account_id:
            continue
        if filters.consumer_account_id and e.consumer_account_id != filters.consumer_account_id:
            continue
        if filters.feature_group and e.feature_group_id != filters.feature_group.pk:
            continue
        if filters.operation and e.event_name != filters.operation:
            continue
        out.append(e)
    return out


def _filter_cases(org, world):
    today = timezone.localdate()
    return [
        selectors.UsageFilters.last_days(30),
        selectors.UsageFilters.last_days(7),
        selectors.UsageFilters(start=today - timedelta(days=60), end=today),
        selectors.UsageFilters.last_days(30, owner_account_id=org.central.account_id),
        selectors.UsageFilters.last_days(30, consumer_account_id=org.consumer.account_id),
        selectors.UsageFilters.last_days(30, feature_group=world.profile),
        selectors.UsageFilters.last_days(30, operation="GetRecord"),
        selectors.UsageFilters(start=today - timedelta(days=5), end=today - timedelta(days=2), operation="PutRecord"),
    ]


def test_dashboard_figures_equal_a_direct_count_over_raw_events(org, world):
    everything = selectors.UsageScope(everything=True)
    for filters in _filter_cases(org, world):
        raw = _raw(filters)
        ok = [e for e in raw if e.outcome == "success"]

        per_day = selectors.usage_calls_per_day(scope=everything, filters=filters)
        expected_day_op = Counter(
            (e.event_time.date(), e.event_name) for e in ok + [e for e in raw if e.outcome != "success"]
        )
        for i, day in enumerate(filters.days):
            for op, values in per_day.datasets.items():
                assert values[i] == expected_day_op[(day, op)], (filters, day, op)
        assert sum(sum(v) for v in per_day.datasets.values()) == len(raw), filters

        outcomes = selectors.usage_outcomes(scope=everything, filters=filters)
        assert outcomes == {o: sum(1 for e in raw if e.outcome == o) for o in ("success", "denied", "failed")}

        rw = selectors.usage_reads_vs_writes(scope=everything, filters=filters)
        assert sum(rw.datasets["Reads"]) == sum(1 for e in ok if e.read_only)
        assert sum(rw.datasets["Writes"]) == sum(1 for e in ok if not e.read_only)

        groups = selectors.usage_top_groups(scope=everything, filters=filters)
        assert {r["arn"]: r["calls"] for r in groups.rows} == dict(Counter(e.feature_group_arn for e in ok))

        consumers = selectors.usage_top_consumers(scope=everything, filters=filters)
        assert {r["account_id"]: r["calls"] for r in consumers.rows} == dict(Counter(e.consumer_account_id for e in ok))
        assert {r["arn"]: r["accounts"] for r in groups.rows} == {
            arn: len({e.consumer_account_id for e in ok if e.feature_group_arn == arn})
            for arn in {e.feature_group_arn for e in ok}
        }
        assert {r["account_id"]: r["groups"] for r in consumers.rows} == {
            a: len({e.feature_group_id for e in ok if e.consumer_account_id == a} - {None})
            for a in {e.consumer_account_id for e in ok}
        }
        # The dashboard's single pass for both says the same, in the same order.
        tops = selectors.usage_tops(scope=everything, filters=filters)
        assert selectors.usage_top_groups(scope=everything, filters=filters, tops=tops).rows == groups.rows
        assert selectors.usage_top_consumers(scope=everything, filters=filters, tops=tops).rows == consumers.rows

        principals = selectors.usage_top_principals(scope=everything, filters=filters)
        assert {r["principal_arn"]: r["calls"] for r in principals.rows} == dict(Counter(e.principal_arn for e in ok))
        groups_by_principal = {
            e.principal_arn: {x.feature_group_id for x in ok if x.principal_arn == e.principal_arn} - {None} for e in ok
        }
        assert {r["principal_arn"]: r["groups"] for r in principals.rows} == {
            arn: len(ids) for arn, ids in groups_by_principal.items()
        }, filters

        denied = selectors.usage_denied_summary(scope=everything, filters=filters)
        assert sum(r["calls"] for r in denied.rows) == sum(1 for e in raw if e.outcome == "denied")
        events = selectors.usage_denied_events(scope=everything, filters=filters)
        assert sorted(e.pk for e in events) == sorted(e.pk for e in raw if e.outcome == "denied")


def test_the_last_30_days_leave_out_older_calls(org, world):
    filters = selectors.UsageFilters.last_days(30, feature_group=world.profile, operation="GetRecord")
    wide = selectors.UsageFilters.last_days(60, feature_group=world.profile, operation="GetRecord")
    everything = selectors.UsageScope(everything=True)
    assert selectors.usage_outcomes(scope=everything, filters=wide)["success"] == (
        selectors.usage_outcomes(scope=everything, filters=filters)["success"] + 1
    )


def test_denied_calls_name_who_tried_what(org, world):
    denied = selectors.usage_denied_summary(
        scope=selectors.UsageScope(everything=True), filters=selectors.UsageFilters.last_days()
    )
    rows = {(r["principal_label"], r["group_label"], r["operation"]): r["calls"] for r in denied.rows}
    assert rows == {("Lab/eve", "customer_profile", "GetRecord"): 2, ("Lab/eve", "fraud_scores", "PutRecord"): 1}


def test_an_owner_sees_only_the_usage_of_their_accounts_groups(org, world, owner):
    scope = selectors.usage_scope(owner)
    assert scope == selectors.UsageScope(everything=False, owner_account_ids=frozenset({org.central.account_id}))
    filters = selectors.UsageFilters.last_days()
    groups = selectors.usage_top_groups(scope=scope, filters=filters)
    assert {r["label"] for r in groups.rows} == {"customer_profile", "fraud_scores"}
    principals = selectors.usage_top_principals(scope=scope, filters=filters)
    ok = [e for e in _raw(filters, scope) if e.outcome == "success"]
    assert {r["principal_arn"]: r["calls"] for r in principals.rows} == dict(Counter(e.principal_arn for e in ok))
    per_day = selectors.usage_calls_per_day(scope=scope, filters=filters)
    # The outsider's denied write on a central group; not the team account's writes of its own group.
    assert sum(per_day.datasets["PutRecord"]) == 1
    assert sum(sum(v) for v in per_day.datasets.values()) == len(_raw(filters, scope))


def test_members_consumers_and_outsiders_see_no_usage(org, world, data_scientist, consumer_admin, outsider):
    for user in (data_scientist, consumer_admin, outsider):
        assert selectors.usage_scope(user).empty
        assert not selectors.can_see_org_usage(user)
        assert not selectors.can_see_group_usage(user, world.profile)


def test_governance_and_operators_see_the_organisation(governance, operator, world):
    for user in (governance, operator):
        assert selectors.can_see_org_usage(user)
        assert selectors.usage_scope(user).everything


def test_grants_vs_use(org, world):
    report = selectors.grants_vs_use(days=30)
    assert [r["grant"] for r in report.unused] == [world.unused_grant]
    assert report.unused[0]["last_day"] is None
    assert [(r["grant"], r["needed"], r["calls"], r["operations"]) for r in report.wider_than_use] == [
        (world.wide_grant, "read_only", 10, ["GetRecord"])
    ]
    assert [(r["group"], r["account_id"], r["calls"]) for r in report.reads_without_grant] == [
        (world.profile, org.team.account_id, 1)
    ]


def test_calls_without_a_grant_list_the_most_called_pairs_and_count_the_rest(org, world):
    full = selectors.grants_vs_use(days=30)
    assert full.reads_without_grant_more == 0 and full.reads_without_grant_total == 1
    capped = selectors.grants_vs_use(days=30, reads_limit=0)
    assert capped.reads_without_grant == []
    assert capped.reads_without_grant_more == 1 and capped.reads_without_grant_total == 1


def test_calls_without_a_grant_are_ordered_by_the_windows_calls_then_group_name(org, world):
    today = timezone.localdate()
    for days_ago in (1, 1, 2):
        event(group=world.scores, consumer=org.unrelated, days_ago=days_ago)
    for _ in range(5):  # before the window: not counted
        event(group=world.scores, consumer=org.unrelated, days_ago=40)
    event(group=world.quiet, consumer=org.unrelated, days_ago=3)  # 1 call, as many as the team's profile read
    event(group=world.payments, consumer=org.unrelated, days_ago=40)  # used before the window only
    event(group=world.payments, consumer=org.team, days_ago=1, operation="GetRecord")  # its own account
    rollups_rebuild()
    report = selectors.grants_vs_use(days=30)
    assert [(r["group"], r["account_id"], r["calls"], r["last_day"]) for r in report.reads_without_grant] == [
        (world.scores, org.unrelated.account_id, 3, today - timedelta(days=1)),
        (world.profile, org.team.account_id, 1, today - timedelta(days=5)),
        (world.quiet, org.unrelated.account_id, 1, today - timedelta(days=3)),
    ]
    assert report.reads_without_grant[0]["account_name"] == org.unrelated.name
    assert report.reads_without_grant_more == 0
    capped = selectors.grants_vs_use(days=30, reads_limit=2)
    assert capped.reads_without_grant == report.reads_without_grant[:2]
    assert capped.reads_without_grant_more == 1 and capped.reads_without_grant_total == 3
    # The granted pairs keep their figures: the wide grant's calls count the window only.
    assert [(r["grant"], r["calls"]) for r in report.wider_than_use] == [(world.wide_grant, 10)]


def test_a_grant_used_only_before_the_window_is_unused_with_its_last_use(org, world):
    report = selectors.grants_vs_use(days=3)
    unused = {r["grant"]: r["last_day"] for r in report.unused}
    assert world.unused_grant in unused
    # The profile grant was used every day, so it is not unused even in a 3-day window.
    assert world.read_grant not in unused


def test_a_grant_recorded_inside_the_window_is_unused_and_marked_recent(org, world):
    assert selectors.grants_vs_use(days=30).unused[0]["recent"] is False
    world.unused_grant.__class__.objects.filter(pk=world.unused_grant.pk).update(created_at=timezone.now())
    [row] = selectors.grants_vs_use(days=30).unused
    assert row["grant"] == world.unused_grant and row["recent"] is True


def test_group_panel_by_consumer_and_operation(org, world):
    usage = selectors.group_usage(group=world.profile)
    assert usage.has_usage
    ops = {(r["consumer_account_id"], r["operation"]): r["calls"] for r in usage.rows}
    assert ops == {
        (org.consumer.account_id, "GetRecord"): 30,
        (org.consumer.account_id, "BatchGetRecord"): 10,
        (org.consumer.account_id, "DescribeFeatureGroup"): 1,
        (org.team.account_id, "GetRecord"): 1,
    }
    consumer = next(c for c in usage.consumers if c["consumer_account_id"] == org.consumer.account_id)
    assert consumer["principals"] == 2
    assert consumer["last_read"] == timezone.localdate()
    assert usage.distinct_principals == 3


def test_used_by_counts_other_accounts_and_says_when_there_is_no_usage(org, world):
    assert selectors.group_consumer_count(group=world.profile) == 2
    assert selectors.group_consumer_count(group=world.payments) == 0  # only its own account writes it
    assert selectors.group_consumer_count(group=world.quiet) is None


def test_account_consumers_list_grants_and_callers(org, world):
    rows = {r["account_id"]: r for r in selectors.account_consumers(account=org.central)}
    assert set(rows) == {org.consumer.account_id, org.team.account_id}
    assert rows[org.consumer.account_id]["grants"] == 2
    assert rows[org.consumer.account_id]["groups"] == 2
    assert rows[org.team.account_id]["calls"] == 1


def test_popularity_follows_other_accounts_reads(org, world):
    assert feature_groups_popularity_refresh() == 2
    pop = dict(FeatureGroup.objects.values_list("name", "popularity"))
    # 41 reads by the consumer and 1 by the team account on the profile group, 2 accounts.
    assert pop["customer_profile"] == 42 + 2 * 10
    assert pop["fraud_scores"] == 10 + 10
    assert pop["payments_daily"] == 0  # its own account's writes do not make it popular
    assert pop["quiet_group"] == 0
    # A second refresh with nothing new writes nothing.
    assert feature_groups_popularity_refresh() == 0


def test_sharing_activity_counts_audit_log_actions_per_day(org, governance):
    from portal.audit import audit_action_label, audit_log

    for action, n in (("access_request.create", 3), ("access_request.approve", 2), ("share.create", 1)):
        for _ in range(n):
            audit_log(
                actor=governance,
                action=action,
                object_type="access_request",
                object_id="x",
                owner_account_id=org.central.account_id,
                consumer_account_id=org.consumer.account_id,
            )
    audit_log(actor=governance, action="account.update", object_type="account", object_id="y")
    series = selectors.sharing_activity_per_day(filters=selectors.UsageFilters.last_days(7))
    assert {k: sum(v) for k, v in series.datasets.items()} == {
        audit_action_label("access_request.approve"): 2,
        audit_action_label("access_request.create"): 3,
        audit_action_label("share.create"): 1,
    }
    assert series.datasets[audit_action_label("access_request.create")][-1] == 3  # today
    narrowed = selectors.sharing_activity_per_day(
        filters=selectors.UsageFilters.last_days(7, consumer_account_id=org.team.account_id)
    )
    assert narrowed.datasets == {}

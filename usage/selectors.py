"""Reads behind the usage dashboards, the group and account usage panels, and the usage API.

Every figure comes from the daily rollups (`UsageDailyTotal` where no principal
is named, `UsageDaily` where one is), never from a scan of raw events: rollups grow with days × groups × accounts × principals ×
operations, not with calls, so a month of dashboard stays a few thousand rows
whatever the traffic. Raw `CloudTrailEvent` rows are read only for the denied
calls table (who tried what, within the retention window) and bounded by a
LIMIT.

Who sees what is one rule, `usage_scope(user)`: governance and operators see
the whole organisation; everyone else sees the usage of feature groups in
the owner accounts where they are an owner or account admin (the group's
"owner side"); nobody sees consumers' usage of other owners' groups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import AwsAccount, FeatureGroup, Membership, user_sees_everything
from portal.audit import audit_action_label
from portal.models import AuditEvent
from sharing.models import Grant
from usage.models import (
    CloudTrailEvent,
    TrailFile,
    TrailSource,
    UsageDaily,
    UsageDailyTotal,
    UsageLastUse,
)
from usage.operations import ADMIN_EXTRA_OPERATIONS, READ_WRITE_EXTRA_OPERATIONS

DEFAULT_DAYS = 30
MAX_DAYS = 400
TOP_LIMIT = 10
DENIED_LIMIT = 50
# Rows of "calls by accounts with no grant" listed (the most called pairs); the rest are counted.
UNGRANTED_LIMIT = 50
OWNER_SIDE_ROLES = (Membership.Role.OWNER, Membership.Role.ACCOUNT_ADMIN)

# Sharing actions counted on the governance dashboard (portal.AuditEvent.action prefixes).
SHARING_ACTION_PREFIXES = ("access_request.", "share.", "grant.", "invitation.")

SUCCESS = "success"
DENIED = "denied"
FAILED = "failed"


# --- who sees what -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageScope:
    """The usage a user may read: everything, or the usage of groups in these owner accounts."""

    everything: bool
    owner_account_ids: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.everything and not self.owner_account_ids

    def sees_account(self, account_id: str) -> bool:
        return self.everything or account_id in self.owner_account_ids


def usage_scope(user) -> UsageScope:
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return UsageScope(everything=False)
    if user_sees_everything(user):
        return UsageScope(everything=True)
    # Consumer-only accounts hold no feature groups, so they have no owner side.
    ids = Membership.objects.filter(
        user=user, role__in=OWNER_SIDE_ROLES, account__kind__in=[AwsAccount.Kind.OWNER, AwsAccount.Kind.BOTH]
    ).values_list("account__account_id", flat=True)
    return UsageScope(everything=False, owner_account_ids=frozenset(ids))


def can_see_org_usage(user) -> bool:
    """The organisation-wide dashboard and grants-vs-use: governance and operators."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user_sees_everything(user))


def can_see_group_usage(user, group: FeatureGroup) -> bool:
    """The group's owner side: owners and admins of its account, governance, operators."""
    return usage_scope(user).sees_account(group.account.account_id)


def can_see_account_consumers(user, account: AwsAccount) -> bool:
    return usage_scope(user).sees_account(account.account_id)


# --- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageFilters:
    """A validated dashboard or API query (usage.forms builds it from user input)."""

    start: date
    end: date  # inclusive
    owner_account_id: str = ""
    consumer_account_id: str = ""
    feature_group: FeatureGroup | None = None
    operation: str = ""

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None, **kwargs) -> UsageFilters:
        today = today or timezone.localdate()
        return cls(start=today - timedelta(days=days - 1), end=today, **kwargs)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _scoped(queryset: QuerySet, scope: UsageScope) -> QuerySet:
    if scope.everything:
        return queryset
    return queryset.filter(owner_account_id__in=sorted(scope.owner_account_ids))


def usage_rollups(*, scope: UsageScope, filters: UsageFilters, by_principal: bool = True) -> QuerySet:
    """The window's rollups. Figures that do not name principals pass `by_principal=False` and read
    `UsageDailyTotal` (the same counts without the principal dimension, written in the same
    transaction), which has principals-times fewer rows to aggregate."""
    model = UsageDaily if by_principal else UsageDailyTotal
    rows = _scoped(model.objects.all(), scope).filter(day__gte=filters.start, day__lte=filters.end)
    if filters.owner_account_id:
        rows = rows.filter(owner_account_id=filters.owner_account_id)
    if filters.consumer_account_id:
        rows = rows.filter(consumer_account_id=filters.consumer_account_id)
    if filters.feature_group is not None:
        rows = rows.filter(feature_group_id=filters.feature_group.pk)
    if filters.operation:
        rows = rows.filter(operation=filters.operation)
    return rows


# --- the dashboard's figures ---------------------------------------------------------------------


@dataclass
class Series:
    """A chart's data: category labels, one list of values per dataset, and its table rows."""

    labels: list[str]
    datasets: dict[str, list[int]]
    rows: list[dict] = field(default_factory=list)

    @property
    def table(self) -> list[tuple]:
        """Per-day series as (day, [value per dataset], total) rows, for the page's tables."""
        keys = list(self.datasets)
        return [(r["day"], [r[k] for k in keys], r.get("total")) for r in self.rows]

    def chart(self) -> dict:
        return {"labels": self.labels, "datasets": [{"label": k, "data": v} for k, v in self.datasets.items()]}


def usage_day_breakdown(*, scope: UsageScope, filters: UsageFilters) -> list[dict]:
    """Calls per (day, operation, outcome, read_only): one pass that three figures share.

    Reads only columns of the covering index proposed in docs/usage.md, so it
    can be an index-only scan of the window.
    """
    return list(
        usage_rollups(scope=scope, filters=filters, by_principal=False)
        .values("day", "operation", "outcome", "read_only")
        .annotate(n=Sum("calls"))
        .order_by()
    )


def usage_calls_per_day(*, scope: UsageScope, filters: UsageFilters, breakdown: list[dict] | None = None) -> Series:
    """Calls per day, one dataset per operation (stacked in the chart); every outcome counts."""
    totals: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for row in breakdown if breakdown is not None else usage_day_breakdown(scope=scope, filters=filters):
        totals[row["operation"]][row["day"]] += row["n"]
    days = filters.days
    datasets = {op: [by_day.get(d, 0) for d in days] for op, by_day in sorted(totals.items())}
    rows = [
        {"day": d, **{op: datasets[op][i] for op in datasets}, "total": sum(v[i] for v in datasets.values())}
        for i, d in enumerate(days)
    ]
    return Series(labels=[d.isoformat() for d in days], datasets=datasets, rows=rows)


def _group_labels(ids: list[int]) -> dict[int, FeatureGroup]:
    """Groups by pk, with what the pages and the API show of them (name, ARN, link, account)."""
    return {
        g.pk: g
        for g in FeatureGroup.objects.filter(pk__in=ids)
        .select_related("account")
        .only("uuid", "name", "arn", "account__uuid", "account__account_id", "account__name")
    }


def _account_names(account_ids) -> dict[str, str]:
    return dict(AwsAccount.objects.filter(account_id__in=set(account_ids)).values_list("account_id", "name"))


def _top_by(rows: QuerySet, keys: tuple[str, ...], counted: str, limit: int) -> list[tuple]:
    """The `limit` largest sums of calls by `keys`, each with its number of distinct non-null
    `counted` values: (*keys, calls, count) ordered by calls (descending), then keys.

    Aggregated in two steps (by keys and `counted`, then by keys) so that PostgreSQL hashes the
    window's rows instead of sorting them all for a COUNT(DISTINCT).
    """
    inner, params = rows.values(*keys, counted).annotate(part=Sum("calls")).order_by().query.sql_with_params()
    columns = ", ".join(keys)
    order = ", ".join(str(i) for i in range(1, len(keys) + 1))
    sql = (
        f"SELECT {columns}, sum(part)::bigint, count({counted}) FROM ({inner}) AS s "  # noqa: S608 - names, not input
        f"GROUP BY {columns} ORDER BY {len(keys) + 1} DESC, {order} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return cursor.fetchall()


@dataclass
class UsageTops:
    """Top feature groups and top consumer accounts, as `_top_by` rows, from one pass."""

    groups: list[tuple]  # (feature_group_id, calls, accounts); limit + 1 rows at most
    consumers: list[tuple]  # (consumer_account_id, calls, groups)


def usage_tops(*, scope: UsageScope, filters: UsageFilters, limit: int = TOP_LIMIT) -> UsageTops:
    """The window's successful calls per (group, consumer account), aggregated once, then the top
    groups and the top consumers from those pairs in the same statement (the dashboard shows both)."""
    ok = usage_rollups(scope=scope, filters=filters, by_principal=False).filter(outcome=SUCCESS)
    inner, params = (
        ok.values("feature_group_id", "consumer_account_id").annotate(part=Sum("calls")).order_by().query
    ).sql_with_params()
    sql = f"""
        WITH pairs AS MATERIALIZED ({inner})
        (SELECT 'g', feature_group_id, NULL, sum(part)::bigint, count(consumer_account_id) FROM pairs
         GROUP BY feature_group_id ORDER BY 4 DESC, 2 LIMIT %s)
        UNION ALL
        (SELECT 'c', NULL, consumer_account_id, sum(part)::bigint, count(feature_group_id) FROM pairs
         GROUP BY consumer_account_id ORDER BY 4 DESC, 3 LIMIT %s)
        ORDER BY 1, 4 DESC, 2, 3
    """  # noqa: S608 - Django's SQL with its parameters
    # The outer ORDER BY: UNION ALL promises no order of its own (a parallel append interleaves).
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit + 1, limit])
        rows = cursor.fetchall()
    return UsageTops(
        groups=[(g, calls, n) for kind, g, _, calls, n in rows if kind == "g"],
        consumers=[(a, calls, n) for kind, _, a, calls, n in rows if kind == "c"],
    )


def usage_top_groups(
    *, scope: UsageScope, filters: UsageFilters, limit: int = TOP_LIMIT, tops: UsageTops | None = None
) -> Series:
    """The most called feature groups (successful calls), with how many accounts called each.

    Grouped by the catalog's group id (an integer, and a column of the
    covering index); calls on groups the catalog does not know yet (no id,
    linked later by ARN) are split by ARN in a second, small query.
    """
    ok = usage_rollups(scope=scope, filters=filters, by_principal=False).filter(outcome=SUCCESS)
    top = [
        {"feature_group_id": group_id, "calls": calls, "accounts": accounts}
        for group_id, calls, accounts in (tops or usage_tops(scope=scope, filters=filters, limit=limit)).groups
    ]
    if any(r["feature_group_id"] is None for r in top):
        top = [r for r in top if r["feature_group_id"] is not None] + list(
            ok.filter(feature_group__isnull=True)
            .values("feature_group_arn")
            .annotate(calls=Sum("calls"), accounts=Count("consumer_account_id", distinct=True))
            .order_by("-calls", "feature_group_arn")[:limit]
        )
        top.sort(key=lambda r: -r["calls"])
    top = top[:limit]
    groups = _group_labels([r["feature_group_id"] for r in top if r.get("feature_group_id")])
    rows = []
    for r in top:
        group = groups.get(r.get("feature_group_id"))
        arn = group.arn if group else r.get("feature_group_arn", "")
        rows.append(
            {
                "group": group,
                "label": group.name if group else (arn.rsplit("/", 1)[-1] or "(no feature group)"),
                "arn": arn,
                "calls": r["calls"],
                "accounts": r["accounts"],
            }
        )
    return Series(labels=[r["label"] for r in rows], datasets={"Calls": [r["calls"] for r in rows]}, rows=rows)


def usage_top_consumers(
    *, scope: UsageScope, filters: UsageFilters, limit: int = TOP_LIMIT, tops: UsageTops | None = None
) -> Series:
    top = [
        {"consumer_account_id": account_id, "calls": calls, "groups": groups}
        for account_id, calls, groups in (tops or usage_tops(scope=scope, filters=filters, limit=limit)).consumers
    ]
    names = _account_names(r["consumer_account_id"] for r in top)
    rows = [
        {
            "account_id": r["consumer_account_id"],
            "name": names.get(r["consumer_account_id"], ""),
            "label": names.get(r["consumer_account_id"]) or r["consumer_account_id"],
            "calls": r["calls"],
            "groups": r["groups"],
        }
        for r in top
    ]
    return Series(labels=[r["label"] for r in rows], datasets={"Calls": [r["calls"] for r in rows]}, rows=rows)


_TOP_PRINCIPALS_SQL = """
WITH top AS (
    SELECT principal_arn, consumer_account_id, sum(calls)::bigint AS calls
    FROM usage_usageprincipaldaily
    WHERE day >= %(start)s AND day <= %(end)s {consumer}
    GROUP BY 1, 2
    ORDER BY 3 DESC, 1, 2
    LIMIT %(limit)s
)
SELECT t.principal_arn, t.consumer_account_id, t.calls,
    (SELECT count(*) FROM catalog_featuregroup fg WHERE fg.arn IN (
        SELECT unnest(p.feature_group_arns) FROM usage_usageprincipaldaily p
        WHERE p.consumer_account_id = t.consumer_account_id AND p.principal_arn = t.principal_arn
          AND p.day >= %(start)s AND p.day <= %(end)s))
FROM top t
ORDER BY 3 DESC, 1, 2
"""


def usage_top_principals(*, scope: UsageScope, filters: UsageFilters, limit: int = TOP_LIMIT) -> Series:
    """The principals with the most successful calls, with how many catalog groups each called.

    Organisation-wide (optionally for one consumer account) it reads `UsagePrincipalDaily`, a few
    rows per principal and day; a narrower scope or filter (one owner's groups, one group, one
    operation) needs `UsageDaily`, whose rows that filter already narrows.
    """
    if scope.everything and not (filters.owner_account_id or filters.feature_group or filters.operation):
        params = {"start": filters.start, "end": filters.end, "limit": limit}
        consumer = ""
        if filters.consumer_account_id:
            consumer, params["consumer"] = "AND consumer_account_id = %(consumer)s", filters.consumer_account_id
        with connection.cursor() as cursor:
            cursor.execute(_TOP_PRINCIPALS_SQL.format(consumer=consumer), params)
            top = cursor.fetchall()
    else:
        ok = usage_rollups(scope=scope, filters=filters).filter(outcome=SUCCESS)
        top = _top_by(ok, ("principal_arn", "consumer_account_id"), "feature_group_id", limit)
    rows = [
        {
            "principal_arn": arn,
            "account_id": account_id,
            "label": principal_label(arn),
            "calls": calls,
            "groups": groups,
        }
        for arn, account_id, calls, groups in top
    ]
    return Series(labels=[r["label"] for r in rows], datasets={"Calls": [r["calls"] for r in rows]}, rows=rows)


def principal_label(arn: str) -> str:
    """A short name for a principal ARN: the role (and session) or user, not the whole ARN."""
    if not arn:
        return "(unknown principal)"
    resource = arn.split(":", 5)[-1]
    return resource.split("/", 1)[-1] if "/" in resource else resource


def usage_reads_vs_writes(*, scope: UsageScope, filters: UsageFilters, breakdown: list[dict] | None = None) -> Series:
    """Successful reads and writes per day."""
    reads: dict[date, int] = defaultdict(int)
    writes: dict[date, int] = defaultdict(int)
    for row in breakdown if breakdown is not None else usage_day_breakdown(scope=scope, filters=filters):
        if row["outcome"] == SUCCESS:
            (reads if row["read_only"] else writes)[row["day"]] += row["n"]
    days = filters.days
    datasets = {"Reads": [reads.get(d, 0) for d in days], "Writes": [writes.get(d, 0) for d in days]}
    rows = [{"day": d, "reads": reads.get(d, 0), "writes": writes.get(d, 0)} for d in days]
    return Series(labels=[d.isoformat() for d in days], datasets=datasets, rows=rows)


def usage_outcomes(*, scope: UsageScope, filters: UsageFilters, breakdown: list[dict] | None = None) -> dict[str, int]:
    totals = {SUCCESS: 0, DENIED: 0, FAILED: 0}
    for row in breakdown if breakdown is not None else usage_day_breakdown(scope=scope, filters=filters):
        totals[row["outcome"]] = totals.get(row["outcome"], 0) + row["n"]
    return totals


def usage_denied_summary(*, scope: UsageScope, filters: UsageFilters, limit: int = TOP_LIMIT * 2) -> Series:
    """Denied calls from the rollups (kept for good): who tried which operation on what, and how often."""
    top = list(
        usage_rollups(scope=scope, filters=filters)
        .filter(outcome=DENIED)
        .values("principal_arn", "consumer_account_id", "feature_group_id", "feature_group_arn", "operation")
        .annotate(calls=Sum("calls"), last_day=Max("day"))
        .order_by("-calls", "principal_arn", "feature_group_arn", "operation")[:limit]
    )
    groups = _group_labels([r["feature_group_id"] for r in top if r["feature_group_id"]])
    names = _account_names(r["consumer_account_id"] for r in top)
    rows = []
    for r in top:
        group = groups.get(r["feature_group_id"])
        rows.append(
            {
                **r,
                "group": group,
                "group_label": group.name if group else (r["feature_group_arn"].rsplit("/", 1)[-1] or "(no group)"),
                "account_name": names.get(r["consumer_account_id"], ""),
                "principal_label": principal_label(r["principal_arn"]),
            }
        )
    labels = [f"{r['principal_label']} → {r['group_label']} ({r['operation']})" for r in rows]
    return Series(labels=labels, datasets={"Denied calls": [r["calls"] for r in rows]}, rows=rows)


def usage_denied_events(
    *, scope: UsageScope, filters: UsageFilters, limit: int = DENIED_LIMIT
) -> list[CloudTrailEvent]:
    """The latest denied calls as CloudTrail recorded them (raw events, within their retention)."""
    events = CloudTrailEvent.objects.filter(outcome=DENIED)
    if not scope.everything:
        events = events.filter(owner_account_id__in=sorted(scope.owner_account_ids))
    start = timezone.make_aware(datetime.combine(filters.start, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(filters.end + timedelta(days=1), datetime.min.time()))
    events = events.filter(event_time__gte=start, event_time__lt=end)
    if filters.owner_account_id:
        events = events.filter(owner_account_id=filters.owner_account_id)
    if filters.consumer_account_id:
        events = events.filter(consumer_account_id=filters.consumer_account_id)
    if filters.feature_group is not None:
        events = events.filter(feature_group_id=filters.feature_group.pk)
    if filters.operation:
        events = events.filter(event_name=filters.operation)
    return list(events.select_related("feature_group").order_by("-event_time", "-pk")[:limit])


def sharing_activity_per_day(*, filters: UsageFilters) -> Series:
    """Access requests, approvals, shares and revocations per day, counted in the audit log."""
    prefix_q = Q()
    for prefix in SHARING_ACTION_PREFIXES:
        prefix_q |= Q(action__startswith=prefix)
    start = timezone.make_aware(datetime.combine(filters.start, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(filters.end + timedelta(days=1), datetime.min.time()))
    events = AuditEvent.objects.filter(prefix_q, at__gte=start, at__lt=end)
    if filters.owner_account_id:
        events = events.filter(owner_account_id=filters.owner_account_id)
    if filters.consumer_account_id:
        events = events.filter(consumer_account_id=filters.consumer_account_id)
    if filters.feature_group is not None:
        events = events.filter(object_id__in=[str(filters.feature_group.uuid), filters.feature_group.arn])
    counts: dict[str, dict[date, int]] = defaultdict(dict)
    for row in (
        events.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values("day", "action")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["action"]][row["day"]] = row["n"]
    days = filters.days
    # Legends and table headers in the audit log's words ("Access request approved"...).
    datasets = {
        audit_action_label(action): [by_day.get(d, 0) for d in days] for action, by_day in sorted(counts.items())
    }
    rows = [{"day": d, **{a: datasets[a][i] for a in datasets}} for i, d in enumerate(days)]
    return Series(labels=[d.isoformat() for d in days], datasets=datasets, rows=rows)


# --- grants vs use -------------------------------------------------------------------------------


def _group_grants() -> QuerySet[Grant]:
    return (
        Grant.objects.active()
        .filter(resource_type=Grant.ResourceType.FEATURE_GROUP)
        .select_related("owner_account", "consumer_account", "feature_group")
    )


_USE_SINCE_SQL = """
WITH used AS (
    SELECT fg.id AS group_id, fg.name, a.account_id AS owner_account_id, u.consumer_account_id,
        array_agg(u.operation ORDER BY u.operation) AS operations, max(u.last_day) AS last_day
    FROM usage_usagelastuse u
    JOIN catalog_featuregroup fg ON fg.arn = u.feature_group_arn
    JOIN catalog_awsaccount a ON a.id = fg.account_id
    WHERE u.last_day >= %(since)s
    GROUP BY fg.id, a.account_id, u.consumer_account_id
), calls AS (
    SELECT feature_group_id, consumer_account_id, sum(calls)::bigint AS calls
    FROM usage_usagepairdaily
    WHERE day >= %(since)s AND feature_group_id IS NOT NULL
    GROUP BY 1, 2
)
SELECT u.group_id, u.consumer_account_id, u.operations, u.last_day, coalesce(c.calls, 0), u.name, u.owner_account_id
FROM used u
LEFT JOIN calls c ON c.feature_group_id = u.group_id AND c.consumer_account_id = u.consumer_account_id
"""


def _use_by_pair(*, since: date) -> dict[tuple[int, str], dict]:
    """Successful use per (feature group pk, consumer account id) since a day: operations, last
    day, calls, and the group's name and owner account (to list and order the pairs without
    loading every group).

    Operations and last day come from `UsageLastUse` (one row per group, account and operation,
    with its last day), so they cost the same for a window of any length; the calls are the
    window's `UsagePairDaily` rows (one per pair and day, successful calls only: a quarter of the
    `UsageDailyTotal` rows that split them by operation, outcome and read-only), summed per pair
    and joined in the same statement."""
    with connection.cursor() as cursor:
        cursor.execute(_USE_SINCE_SQL, {"since": since})
        return {
            (group_pk, account_id): {
                "operations": operations,
                "last_day": last_day,
                "calls": calls,
                "group_name": name,
                "owner_account_id": owner_account_id,
            }
            for group_pk, account_id, operations, last_day, calls, name, owner_account_id in cursor.fetchall()
        }


def _last_use(pairs: list[tuple[FeatureGroup, str]]) -> dict[tuple[int, str], date]:
    """The last day of successful use ever, for grants unused in the window."""
    if not pairs:
        return {}
    by_arn = {group.arn: group.pk for group, _ in pairs}
    rows = (
        UsageLastUse.objects.filter(
            feature_group_arn__in=sorted(by_arn), consumer_account_id__in=sorted({a for _, a in pairs})
        )
        .values("feature_group_arn", "consumer_account_id")
        .annotate(last_day=Max("last_day"))
        .order_by()
    )
    return {(by_arn[r["feature_group_arn"]], r["consumer_account_id"]): r["last_day"] for r in rows}


def level_needed(operations) -> str:
    """The least RAM access level that allows every operation seen."""
    seen = set(operations)
    if seen & ADMIN_EXTRA_OPERATIONS:
        return Grant.Permission.ADMIN
    if seen & READ_WRITE_EXTRA_OPERATIONS:
        return Grant.Permission.READ_WRITE
    return Grant.Permission.READ_ONLY


@dataclass
class GrantsVsUse:
    days: int
    since: date
    unused: list[dict]
    wider_than_use: list[dict]
    reads_without_grant: list[dict]  # the `reads_limit` pairs with the most calls
    reads_without_grant_more: int = 0  # ungranted pairs left out of that list

    @property
    def reads_without_grant_total(self) -> int:
        return len(self.reads_without_grant) + self.reads_without_grant_more


def grants_vs_use(
    *, days: int = DEFAULT_DAYS, today: date | None = None, reads_limit: int | None = None
) -> GrantsVsUse:
    """Active feature group grants against the last `days` days of use (organisation-wide).

    Calls without a grant are listed for the `reads_limit` (group, account) pairs with the most
    calls (`UNGRANTED_LIMIT` by default); the others are only counted (`reads_without_grant_more`)."""
    reads_limit = UNGRANTED_LIMIT if reads_limit is None else reads_limit
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    use = _use_by_pair(since=since)
    grants = list(_group_grants().order_by("owner_account__name", "feature_group__name", "consumer_account__name"))
    unused, wider = [], []
    granted_pairs: set[tuple[int, str]] = set()
    for grant in grants:
        pair = (grant.feature_group_id, grant.consumer_account.account_id)
        granted_pairs.add(pair)
        seen = use.get(pair)
        # Pantry's `created_at` is when it recorded the grant, not when RAM shared it (a grant
        # mirrored from RAM today may be years old), so every grant counts; one recorded inside
        # the window is marked, since it may simply not have had the time to be used.
        if seen is None:
            unused.append({"grant": grant, "recent": grant.created_at.date() > since})
        else:
            needed = level_needed(seen["operations"])
            if Grant.LEVEL_ORDER[needed] < Grant.LEVEL_ORDER[grant.permission]:
                wider.append(
                    {
                        "grant": grant,
                        "needed": needed,
                        "needed_label": Grant.Permission(needed).label,
                        "operations": sorted(seen["operations"]),
                        "last_day": seen["last_day"],
                        "calls": seen["calls"],
                    }
                )
    last = _last_use([(r["grant"].feature_group, r["grant"].consumer_account.account_id) for r in unused])
    for row in unused:
        grant = row["grant"]
        row["last_day"] = last.get((grant.feature_group_id, grant.consumer_account.account_id))
    # Successful calls by another account on a group with no active grant to it: a share made
    # outside Pantry, or a leak. The owner's own account needs no grant. Ordered and cut by the
    # figures of the statement above; only the groups of the pairs listed are loaded.
    ungranted = sorted(
        ((pair, row) for pair, row in use.items() if pair not in granted_pairs and row["owner_account_id"] != pair[1]),
        key=lambda item: (-item[1]["calls"], item[1]["group_name"], item[0][1], item[0][0]),
    )
    more = max(len(ungranted) - reads_limit, 0)
    listed = ungranted[:reads_limit]
    groups = _group_labels([group_pk for (group_pk, _), _ in listed])
    reads = [
        {"group": groups[group_pk], "account_id": account_id, "last_day": row["last_day"], "calls": row["calls"]}
        for (group_pk, account_id), row in listed
        if group_pk in groups  # deleted since
    ]
    names = _account_names(r["account_id"] for r in reads)
    for row in reads:
        row["account_name"] = names.get(row["account_id"], "")
    return GrantsVsUse(
        days=days,
        since=since,
        unused=unused,
        wider_than_use=wider,
        reads_without_grant=reads,
        reads_without_grant_more=more,
    )


# --- owners' panels and the catalog's figures ----------------------------------------------------


@dataclass
class GroupUsage:
    days: int
    since: date
    has_usage: bool
    rows: list[dict]  # per consumer account and operation
    consumers: list[dict]  # per consumer account: calls, last read, principals
    total_calls: int
    distinct_principals: int
    last_read: date | None


def group_usage(
    *, group: FeatureGroup, days: int = DEFAULT_DAYS, today: date | None = None, has_usage: bool | None = None
) -> GroupUsage:
    """The group page's usage panel (owner side): last `days` days by consumer account and operation.

    One query over the window's rollups grouped by account, principal and
    operation; the per-account and overall figures are summed from it (a
    group's month is at most accounts × principals × operations rows).
    `has_usage` from `group_usage_counts` saves asking again.
    """
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    if has_usage is None:
        has_usage = group_usage_counts(group=group, days=days, today=today)[0]
    if not has_usage:
        return GroupUsage(days, since, False, [], [], 0, 0, None)
    grouped = (
        UsageDaily.objects.filter(feature_group_id=group.pk, day__gte=since, day__lte=today, outcome=SUCCESS)
        .values("consumer_account_id", "principal_arn", "operation", "read_only")
        .annotate(calls=Sum("calls"), last_day=Max("day"))
        .order_by()
    )
    by_op: dict[tuple[str, str], dict] = {}
    by_account: dict[str, dict] = {}
    principals: set[str] = set()
    last_read: date | None = None
    for r in grouped:
        account_id = r["consumer_account_id"]
        op = by_op.setdefault(
            (account_id, r["operation"]),
            {"consumer_account_id": account_id, "operation": r["operation"], "calls": 0, "last_day": r["last_day"]},
        )
        op["calls"] += r["calls"]
        op["last_day"] = max(op["last_day"], r["last_day"])
        acc = by_account.setdefault(
            account_id, {"consumer_account_id": account_id, "calls": 0, "principal_set": set(), "last_read": None}
        )
        acc["calls"] += r["calls"]
        acc["principal_set"].add(r["principal_arn"])
        principals.add(r["principal_arn"])
        if r["read_only"]:
            acc["last_read"] = max(filter(None, [acc["last_read"], r["last_day"]]))
            last_read = max(filter(None, [last_read, r["last_day"]]))
    names = _account_names(by_account) if by_account else {}
    rows = [{**r, "account_name": names.get(r["consumer_account_id"], "")} for _, r in sorted(by_op.items())]
    consumers = sorted(
        (
            {
                "consumer_account_id": k,
                "account_name": names.get(k, ""),
                "calls": v["calls"],
                "principals": len(v["principal_set"]),
                "last_read": v["last_read"],
            }
            for k, v in by_account.items()
        ),
        key=lambda c: (-c["calls"], c["consumer_account_id"]),
    )
    return GroupUsage(
        days=days,
        since=since,
        has_usage=True,
        rows=rows,
        consumers=consumers,
        total_calls=sum(r["calls"] for r in rows),
        distinct_principals=len(principals),
        last_read=last_read,
    )


_GROUP_COUNTS_SQL = """
SELECT EXISTS (SELECT 1 FROM usage_usagedailytotal WHERE feature_group_id = %(group)s AND outcome = 'success'),
       (SELECT COUNT(DISTINCT consumer_account_id) FROM usage_usagedailytotal
        WHERE feature_group_id = %(group)s AND day >= %(since)s AND outcome = 'success'
          AND consumer_account_id <> %(owner)s)
"""


def group_usage_counts(*, group: FeatureGroup, days: int = DEFAULT_DAYS, today: date | None = None) -> tuple[bool, int]:
    """(any successful use ever recorded, accounts other than the owner that used it in the last `days` days).

    One query, on the (feature_group, day) index.
    """
    today = today or timezone.localdate()
    params = {"group": group.pk, "since": today - timedelta(days=days - 1), "owner": group.account.account_id}
    with connection.cursor() as cursor:
        cursor.execute(_GROUP_COUNTS_SQL, params)
        exists, accounts = cursor.fetchone()
    return bool(exists), accounts or 0


def group_consumer_count(*, group: FeatureGroup, days: int = DEFAULT_DAYS, today: date | None = None) -> int | None:
    """How many accounts other than the owner used the group in the last `days` days; None when no usage at all."""
    exists, accounts = group_usage_counts(group=group, days=days, today=today)
    return accounts if exists else None


def account_consumers(*, account: AwsAccount, days: int = DEFAULT_DAYS, today: date | None = None) -> list[dict]:
    """Accounts that use the owner account's groups: active grants and the last `days` days of calls."""
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    consumers: dict[str, dict] = {}
    for grant in Grant.objects.active().filter(owner_account=account).select_related("consumer_account").order_by("pk"):
        entry = consumers.setdefault(
            grant.consumer_account.account_id,
            {"account": grant.consumer_account, "grants": 0, "calls": 0, "groups": 0, "last_day": None},
        )
        entry["grants"] += 1
    for row in (
        UsageDailyTotal.objects.filter(owner_account_id=account.account_id, day__gte=since, outcome=SUCCESS)
        .exclude(consumer_account_id=account.account_id)
        .values("consumer_account_id")
        .annotate(calls=Sum("calls"), groups=Count("feature_group_arn", distinct=True), last_day=Max("day"))
        .order_by()
    ):
        entry = consumers.setdefault(
            row["consumer_account_id"], {"account": None, "grants": 0, "calls": 0, "groups": 0, "last_day": None}
        )
        entry.update(calls=row["calls"], groups=row["groups"], last_day=row["last_day"])
    missing = [k for k, v in consumers.items() if v["account"] is None]
    if missing:
        for known in AwsAccount.objects.filter(account_id__in=missing):
            consumers[known.account_id]["account"] = known
    out = [{"account_id": k, **v} for k, v in consumers.items()]
    return sorted(out, key=lambda r: (-r["calls"], r["account"].name if r["account"] else r["account_id"]))


def accounts_for_filters() -> list[AwsAccount]:
    """The dashboard's account suggestions (governance sees every account)."""
    return list(AwsAccount.objects.order_by("name").only("account_id", "name"))


# --- trail sources (operators) --------------------------------------------------------------------


@dataclass
class SourceHealth:
    source: TrailSource
    pending: int
    claimed: int
    done: int
    quarantined: int

    @property
    def status(self) -> str:
        source = self.source
        if not source.enabled:
            return "disabled"
        if source.last_error and (
            not source.last_success_at or (source.last_error_at or source.last_success_at) >= source.last_success_at
        ):
            return "error"
        if source.last_listed_at is None:
            return "waiting"
        return "ok"

    @property
    def lag(self) -> timedelta | None:
        return timedelta(seconds=self.source.lag_seconds) if self.source.lag_seconds is not None else None


def _file_counts(source_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        TrailFile.objects.filter(source_id__in=source_ids)
        .values("source_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["source_id"]][row["state"]] = row["n"]
    return counts


def _health(source: TrailSource, counts: dict[str, int]) -> SourceHealth:
    return SourceHealth(
        source=source,
        pending=counts.get(TrailFile.State.PENDING, 0),
        claimed=counts.get(TrailFile.State.CLAIMED, 0),
        done=counts.get(TrailFile.State.DONE, 0),
        quarantined=counts.get(TrailFile.State.QUARANTINED, 0),
    )


def trail_sources_health() -> list[SourceHealth]:
    sources = list(TrailSource.objects.order_by("name"))
    counts = _file_counts([s.pk for s in sources])
    return [_health(s, counts.get(s.pk, {})) for s in sources]


def trail_source_health(*, source: TrailSource) -> SourceHealth:
    return _health(source, _file_counts([source.pk]).get(source.pk, {}))


def trail_files_quarantined(*, source: TrailSource, limit: int = 100) -> list[TrailFile]:
    return list(
        TrailFile.objects.filter(source=source, state=TrailFile.State.QUARANTINED).order_by("-delivered_at", "-id")[
            :limit
        ]
    )

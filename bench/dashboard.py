"""Dashboard read speed at scale: p95 of every usage selector over rollups standing for N events.

Writes synthetic daily rollups straight into usage_usagedaily (no ingestion: bench/ingest.py
measures that) shaped like an organisation's month: `--principals` callers, each reading a few
feature groups with a couple of operations every day, some denied; the window's rollups stand
for `--events` calls, and `--history-months` earlier months are kept (rollups are kept for good,
so the table is much larger than the dashboard's window), sums them into usage_usagedailytotal and
derives usage_usageprincipaldaily and usage_usagelastuse with `usage.rollups` (the migration's
back-fill SQL: the rows the ingestion would have written). Then times each selector the
governance dashboard, the group panel and the API run, `--runs` times, and prints p50/p95.

The synthetic rows are committed and VACUUM ANALYZEd (as autovacuum would leave a real table,
so index-only scans can work), then deleted again at the end: run it against a development
database, never production. `--covering` also builds the covering index proposed for the
org-wide charts (docs/usage.md) for the run and drops it afterwards. `--keep` leaves the rows for the
next run, which then reuses them (same sizes); `--refill-derived` derives the new rollups again.
With DEBUG off the rendered page needs the static files' manifest: run `manage.py collectstatic`
once first (else the last case fails with "Missing staticfiles manifest entry").

    .venv/bin/python bench/dashboard.py                       # 10,000,000 events in 30 days
    .venv/bin/python bench/dashboard.py --events 1000000 --history-months 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PANTRY_ENV", "development")  # a development database, as the other benches

import django  # noqa: E402

from bench._common import embedded_services_if_needed, freeze_like_a_worker  # noqa: E402

embedded_services_if_needed()  # no DATABASE_URL: the embedded PostgreSQL, started if need be
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

OPS_READ = ["GetRecord", "BatchGetRecord", "DescribeFeatureGroup", "DescribeFeatureMetadata"]
OPS_WRITE = ["PutRecord", "DeleteRecord"]


BENCH_ARNS = "%:feature-group/bench_group_%"
TABLES = (
    "usage_usagedaily",
    "usage_usagedailytotal",
    "usage_usageprincipaldaily",
    "usage_usagepairdaily",
    "usage_usagelastuse",
)


def _seeded() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM usage_usagedaily WHERE feature_group_arn LIKE %s)", [BENCH_ARNS])
        return cur.fetchone()[0]


@transaction.atomic
def _seed(*, events: int, days: int, principals: int, groups: int, accounts: int, history_months: int) -> dict:
    from catalog.models import AwsAccount, FeatureGroup
    from usage.rollups import derived_rollups_fill

    owners = []
    for i in range(10):
        account, _ = AwsAccount.objects.get_or_create(
            account_id=f"9{i:011d}",
            defaults={
                "name": f"bench-owner-{i}",
                "role_arn": f"arn:aws:iam::9{i:011d}:role/Bench",
                "external_id": "bench-ext",
                "regions": ["eu-west-1"],
            },
        )
        owners.append(account)
    existing = FeatureGroup.objects.filter(name__startswith="bench_group_").count()
    FeatureGroup.objects.bulk_create(
        [
            FeatureGroup(
                account=owners[i % len(owners)],
                region="eu-west-1",
                name=f"bench_group_{i:04d}",
                arn=f"arn:aws:sagemaker:eu-west-1:{owners[i % len(owners)].account_id}:feature-group/bench_group_{i:04d}",
            )
            for i in range(existing, groups)
        ]
    )
    group_ids = list(
        FeatureGroup.objects.filter(name__startswith="bench_group_").order_by("id").values_list("id", flat=True)
    )
    today = timezone.localdate()
    rows_per_day = principals * 3  # each principal: 3 (group, operation) pairs a day
    calls_per_row = max(1, events // (rows_per_day * days))
    total_days = days + 30 * history_months
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_groups (n int, id bigint, arn text, owner text) ON COMMIT DROP")
        cur.execute(
            """INSERT INTO bench_groups
               SELECT row_number() OVER (ORDER BY g.id) - 1, g.id, g.arn, a.account_id
               FROM catalog_featuregroup g JOIN catalog_awsaccount a ON a.id = g.account_id
               WHERE g.id = ANY(%s)""",
            [group_ids],
        )
        t0 = time.perf_counter()
        cur.execute(
            """
            INSERT INTO usage_usagedaily (day, feature_group_id, feature_group_arn, owner_account_id,
                consumer_account_id, principal_arn, operation, outcome, read_only, calls)
            SELECT %(today)s - d, g.id, g.arn, g.owner,
                   lpad((100000 + p %% %(accounts)s)::text, 12, '5'),
                   'arn:aws:sts::' || lpad((100000 + p %% %(accounts)s)::text, 12, '5') || ':assumed-role/BenchRole' || p || '/s',
                   (ARRAY['GetRecord','BatchGetRecord','DescribeFeatureGroup','DescribeFeatureMetadata',
                          'GetRecord','BatchGetRecord','PutRecord','DeleteRecord'])[1 + (p + k) %% 8],
                   CASE WHEN (p * 7 + k + d) %% 40 = 0 THEN 'denied' WHEN (p + d) %% 97 = 0 THEN 'failed' ELSE 'success' END,
                   (p + k) %% 8 < 6,
                   %(calls)s + (p * 13 + d) %% 7
            FROM generate_series(0, %(total_days)s - 1) d,
                 generate_series(0, %(principals)s - 1) p,
                 generate_series(0, 2) k,
                 bench_groups g
            WHERE g.n = (p * 3 + k * 17) %% %(groups)s
            ON CONFLICT DO NOTHING
            """,
            {
                "today": today,
                "accounts": accounts,
                "calls": calls_per_row,
                "total_days": total_days,
                "principals": principals,
                "groups": len(group_ids),
            },
        )
        inserted = cur.rowcount
        # The principal-less rollup the ingestion writes in the same statement.
        cur.execute(
            """
            INSERT INTO usage_usagedailytotal (day, feature_group_id, feature_group_arn, owner_account_id,
                consumer_account_id, operation, outcome, read_only, calls)
            SELECT day, max(feature_group_id), feature_group_arn, owner_account_id, consumer_account_id, operation,
                outcome, read_only, sum(calls)
            FROM usage_usagedaily WHERE feature_group_arn LIKE %s
            GROUP BY day, feature_group_arn, owner_account_id, consumer_account_id, operation, outcome, read_only
            ON CONFLICT DO NOTHING
            """,
            [BENCH_ARNS],
        )
        totals = cur.rowcount
    # The principal rollup and the last-use table, derived with the same SQL as the migration's
    # back-fill (rows equal to what the ingestion writes from the same events).
    # A second seed (bench/load.py run again) kept the rollups it found: derive from all of them afresh.
    with connection.cursor() as cur:
        _clean_derived(cur)
    derived_rollups_fill(where="feature_group_arn LIKE %s", params=[BENCH_ARNS])
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"ANALYZE {table}")
        cur.execute(
            "SELECT count(*), coalesce(sum(calls), 0) FROM usage_usagedaily WHERE day > %s",
            [today - __import__("datetime").timedelta(days=days)],
        )
        window_rows, window_calls = cur.fetchone()
    return {
        "rows": inserted,
        "totals": totals,
        "seconds": time.perf_counter() - t0,
        "window_rows": window_rows,
        "window_calls": window_calls,
        "owner": owners[0],
        "group": FeatureGroup.objects.get(pk=group_ids[0]),
    }


def _time(fn, runs: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


BENCH_USER = "bench-governance"


def _governance_user():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from catalog.models import GOVERNANCE_GROUP

    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    user.groups.add(Group.objects.get_or_create(name=GOVERNANCE_GROUP)[0])
    return user


def _dashboard_page() -> None:
    """The governance dashboard view with its template, as a request would run it (no middleware;
    the signed-in governance user loaded as the session middleware would)."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from usage import views

    request = RequestFactory().get("/usage/")
    request.user = get_user_model().objects.get(username=BENCH_USER)
    request.session = {}
    response = views.dashboard.__wrapped__.__wrapped__(request)
    assert response.status_code == 200, response.status_code


COVERING_INDEX = """CREATE INDEX IF NOT EXISTS usagedaily_day_cover ON usage_usagedaily (day)
    INCLUDE (operation, outcome, read_only, calls, feature_group_id, consumer_account_id, owner_account_id)"""


def _report(args, seed, selectors) -> None:
    print(
        f"rollups: {seed['rows']:,} UsageDaily rows ({seed['totals']:,} UsageDailyTotal) written in "
        f"{seed['seconds']:.1f} s; the {args.days}-day window: "
        f"{seed['window_rows']:,} rows standing for {seed['window_calls']:,} calls"
    )
    everything = selectors.UsageScope(everything=True)
    owner_scope = selectors.UsageScope(everything=False, owner_account_ids=frozenset({seed["owner"].account_id}))
    month = selectors.UsageFilters.last_days(args.days)
    group_month = selectors.UsageFilters.last_days(args.days, feature_group=seed["group"])
    cases = {
        "per day: operations, reads/writes, outcomes (org, 30 d)": lambda: selectors.usage_day_breakdown(
            scope=everything, filters=month
        ),
        "top feature groups (org)": lambda: selectors.usage_top_groups(scope=everything, filters=month),
        "top consumer accounts (org)": lambda: selectors.usage_top_consumers(scope=everything, filters=month),
        "top groups and consumers, one pass (the page's)": lambda: selectors.usage_tops(
            scope=everything, filters=month
        ),
        "top principals (org)": lambda: selectors.usage_top_principals(scope=everything, filters=month),
        "denied calls (org)": lambda: selectors.usage_denied_summary(scope=everything, filters=month),
        "per day (one owner)": lambda: selectors.usage_day_breakdown(scope=owner_scope, filters=month),
        "top principals (one owner)": lambda: selectors.usage_top_principals(scope=owner_scope, filters=month),
        "per day (one group)": lambda: selectors.usage_day_breakdown(scope=everything, filters=group_month),
        "group page: used by N accounts": lambda: selectors.group_usage_counts(group=seed["group"]),
        "group page: owner panel": lambda: selectors.group_usage(group=seed["group"]),
        "owner account: consumers": lambda: selectors.account_consumers(account=seed["owner"]),
        "grants vs use": lambda: selectors.grants_vs_use(),
        "whole dashboard page, rendered (org, 30 d)": lambda: _dashboard_page(),
    }
    if args.explain:
        for name, qs in {
            "per day": selectors.usage_rollups(scope=everything, filters=month)
            .values("day", "operation", "outcome", "read_only")
            .annotate(n=__import__("django.db.models", fromlist=["Sum"]).Sum("calls"))
            .order_by(),
            "top principals, scoped path (UsageDaily)": selectors.usage_rollups(scope=everything, filters=month)
            .values("principal_arn", "consumer_account_id")
            .annotate(n=__import__("django.db.models", fromlist=["Sum"]).Sum("calls"))
            .order_by("-n")[:10],
        }.items():
            print(name, qs.explain(analyze=True, buffers=True))
    print(f"{'query':56} {'p50 ms':>8} {'p95 ms':>8}")
    freeze_like_a_worker()
    for name, fn in cases.items():
        if args.only and args.only not in name:
            continue
        p50, p95 = _time(fn, args.runs)
        print(f"{name:56} {p50:8.1f} {p95:8.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="calls the 30-day window stands for")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--principals", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--history-months", type=int, default=11)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--covering", action="store_true", help="also build the proposed covering index")
    parser.add_argument("--explain", action="store_true", help="print the plans of the org-wide queries")
    parser.add_argument("--only", default="", help="time only the cases whose name contains this")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the synthetic rows afterwards, and reuse rows a previous --keep run left (same sizes!)",
    )
    parser.add_argument(
        "--refill-derived",
        action="store_true",
        help="with --keep: fill the principal and last-use rollups again from the kept rollups",
    )
    args = parser.parse_args()

    from usage import selectors
    from usage.rollups import derived_rollups_fill

    _governance_user()
    if args.keep and _seeded():
        seed = _existing(days=args.days)
        if args.refill_derived:
            with transaction.atomic(), connection.cursor() as cur:
                _clean_derived(cur)
                derived_rollups_fill(where="feature_group_arn LIKE %s", params=[BENCH_ARNS])
            with connection.cursor() as cur:
                for table in ("usage_usageprincipaldaily", "usage_usagepairdaily"):  # no bloat from the refill
                    cur.execute(f"VACUUM FULL {table}")
    else:
        if _seeded():  # rows a --keep run left, maybe of other sizes
            with connection.cursor() as cur:
                _clean(cur)
        seed = _seed(
            events=args.events,
            days=args.days,
            principals=args.principals,
            groups=args.groups,
            accounts=args.accounts,
            history_months=args.history_months,
        )
    try:
        with connection.cursor() as cur:
            for table in TABLES:
                cur.execute(f"VACUUM ANALYZE {table}")
            if args.covering:
                cur.execute(COVERING_INDEX)
                cur.execute("VACUUM ANALYZE usage_usagedaily")
        _storage()
        _report(args, seed, selectors)
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP INDEX IF EXISTS usagedaily_day_cover")
            if not args.keep:
                _clean(cur)
    return 0


def _existing(*, days: int) -> dict:
    from datetime import timedelta

    from catalog.models import AwsAccount, FeatureGroup

    with connection.cursor() as cur:
        counts = []
        for table in ("usage_usagedaily", "usage_usagedailytotal"):
            cur.execute(f"SELECT count(*) FROM {table} WHERE feature_group_arn LIKE %s", [BENCH_ARNS])  # noqa: S608
            counts.append(cur.fetchone()[0])
        cur.execute(
            "SELECT count(*), coalesce(sum(calls), 0) FROM usage_usagedaily WHERE day > %s",
            [timezone.localdate() - timedelta(days=days)],
        )
        window_rows, window_calls = cur.fetchone()
    return {
        "rows": counts[0],
        "totals": counts[1],
        "seconds": 0.0,
        "window_rows": window_rows,
        "window_calls": window_calls,
        "owner": AwsAccount.objects.get(account_id=f"9{0:011d}"),
        "group": FeatureGroup.objects.filter(name__startswith="bench_group_").order_by("id").first(),
    }


def _storage() -> None:
    """Rows and size (heap + indexes + TOAST) of each rollup table."""
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")  # noqa: S608
            rows, size = cur.fetchone()
            print(f"{table:28} {rows:>12,} rows {size / 2**20:10.1f} MiB")


def _clean_derived(cur) -> None:
    cur.execute("DELETE FROM usage_usagelastuse WHERE feature_group_arn LIKE %s", [BENCH_ARNS])
    cur.execute("DELETE FROM usage_usagepairdaily WHERE feature_group_arn LIKE %s", [BENCH_ARNS])
    cur.execute("DELETE FROM usage_usageprincipaldaily WHERE principal_arn LIKE %s", ["%:assumed-role/BenchRole%"])


def _clean(cur) -> None:
    _clean_derived(cur)
    for table in ("usage_usagedaily", "usage_usagedailytotal"):
        cur.execute(f"DELETE FROM {table} WHERE feature_group_arn LIKE %s", [BENCH_ARNS])  # noqa: S608
    cur.execute("DELETE FROM catalog_featuregroup WHERE name LIKE 'bench\\_group\\_%%'")
    cur.execute("DELETE FROM catalog_awsaccount WHERE name LIKE 'bench-owner-%%'")
    for table in TABLES:
        cur.execute(f"VACUUM ANALYZE {table}")


if __name__ == "__main__":
    raise SystemExit(main())

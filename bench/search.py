"""Search benchmark: load a synthetic catalogue by COPY, then time the search API.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/search.py
    ... --groups 5000 --features 200000      # a smaller run
    ... --reuse                              # keep an already loaded pantry_bench database
    ... --database wt_perf_bench             # another database name (several people share one server)

The catalogue goes into its own database (`pantry_bench` on the server named
by DATABASE_URL; the database in DATABASE_URL itself is never touched). Then
a fixed mix of queries runs as a data scientist who sees about a third of the
accounts, over groups and over features, through the DRF search view called
in-process, and side by side the bare SQL the selector issued for the same
query. The table goes to stdout and to docs/benchmarks.md under "## Search".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "pantry_bench"  # default; --database picks another (helpers share one server)
ACCOUNTS = 30
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1"]

# Vocabulary weighted so `customer`, `count` and `days` match a large share of
# all features: that is where naive "rank every match" search falls over.
ENTITIES = (
    ["customer"] * 30
    + ["order"] * 8
    + ["merchant"] * 6
    + ["product"] * 6
    + ["session"] * 5
    + ["device"] * 5
    + ["account"] * 5
    + ["payment"] * 5
    + ["transaction"] * 6
    + ["store", "driver", "claim", "policy", "loan", "card", "basket", "campaign", "supplier", "route"] * 2
)
MEASURES = (
    ["count"] * 25
    + ["days_since"] * 20
    + ["amount"] * 10
    + ["age"] * 4
    + ["ratio"] * 6
    + ["score"] * 6
    + ["distinct"] * 5
    + ["value"] * 6
    + ["duration", "latency", "balance", "tenure", "frequency", "churn", "refund", "discount", "rating", "visits"] * 2
)
AGGS = ["sum", "avg", "max", "min", "total", "last", "first", "rolling", "median", "stddev"]
WINDOWS = ["7d", "30d", "90d", "1y", "lifetime", "24h"]
DOMAINS = ["marketing", "risk", "fraud", "growth", "logistics", "pricing", "support", "finance", "recommendations"]
DESCRIPTION_TEMPLATES = [
    "Number of {entity} events over the last {window}, aggregated as {agg}.",
    "{agg} {measure} per {entity}, computed daily from the {domain} pipeline.",
    "Days since the {entity} last made an order; {measure} rolled up over {window}.",
    "Customer level {measure} used by the {domain} models; refreshed hourly.",
    "Share of {entity} activity in the {domain} domain over {window}.",
    "Count of distinct {entity} interactions, {agg} over {window}.",
]
GROUP_DESCRIPTIONS = [
    "Features describing {entity} behaviour for {domain} models.",
    "Aggregates of {entity} activity, owned by the {domain} team.",
    "Online features for real-time {domain} scoring of each {entity}.",
    "Historical {entity} snapshots used for {domain} training sets.",
]
TYPES = ["String", "Integral", "Fractional"]


def bench_database_url(base: str, name: str = BENCH_DB) -> tuple[str, str]:
    parts = urlsplit(base)
    admin = urlunsplit(parts._replace(path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{name}"))
    return admin, bench


def create_database(admin_url: str, *, reuse: bool, name: str = BENCH_DB) -> bool:
    """Create the bench database; True when it must be (re)loaded."""
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"bench database name {name!r}: use lower-case letters, digits and _")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return False
        if exists:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return True


def group_features(rng: random.Random, count: int, domain: str) -> list[tuple[str, str, str]]:
    names: dict[str, tuple[str, str]] = {}
    while len(names) < count:
        entity, measure = rng.choice(ENTITIES), rng.choice(MEASURES)
        agg, window = rng.choice(AGGS), rng.choice(WINDOWS)
        name = f"{entity}_{measure}_{agg}_{window}"
        if name in names:
            name = f"{name}_{len(names)}"
        description = rng.choice(DESCRIPTION_TEMPLATES).format(
            entity=entity, measure=measure.replace("_", " "), agg=agg, window=window, domain=domain
        )
        names[name] = (rng.choice(TYPES), description)
    return [(name, ftype, description) for name, (ftype, description) in names.items()]


def load(*, groups: int, features: int, seed: int = 7) -> None:
    from django.db import connection

    from catalog.models import AwsAccount, Membership
    from sharing.models import Grant

    started = time.perf_counter()
    now = datetime.now(UTC)
    accounts = [
        AwsAccount.objects.create(
            account_id=f"{100000000000 + i:012d}",
            name=f"bench-account-{i:02d}",
            kind=AwsAccount.Kind.BOTH,
            role_arn=f"arn:aws:iam::{100000000000 + i:012d}:role/PantryCatalogReader",
            external_id=f"bench-{i}",
            regions=REGIONS,
        )
        for i in range(ACCOUNTS)
    ]
    per_group = features / groups
    with connection.cursor() as cursor:
        # Bulk load without the search indexes, then build them once: much
        # faster than maintaining four GIN indexes row by row.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('catalog_feature', 'catalog_featuregroup')"
            " AND (indexname LIKE '%%search_vector' OR indexname LIKE '%%search_lexemes' OR indexname LIKE '%%name_vector'"
            " OR indexname LIKE '%%name_key' OR indexname LIKE '%%trgm' OR indexname LIKE 'fg_popularity%%'"
            " OR indexname = 'fg_tags')"
        )
        search_indexes = cursor.fetchall()
        for name, _ in search_indexes:
            cursor.execute(f"DROP INDEX {name}")
        raw = cursor.connection  # psycopg 3 connection under Django's wrapper
        with (
            raw.cursor() as pg,
            pg.copy(
                "COPY catalog_featuregroup (id, uuid, account_id, region, arn, name, description, pantry_description,"
                " record_identifier_feature, event_time_feature, online_store_enabled, online_store_config,"
                " offline_store_enabled, offline_s3_uri, glue_database, glue_table, table_format, status,"
                " offline_store_status, role_arn, tags, aws_created_at, aws_modified_at, digest, feature_count,"
                " feature_words, popularity, first_seen_at, synced_at, deleted_at) FROM STDIN"
            ) as copy,
        ):
            for gid in range(1, groups + 1):
                rng = random.Random(seed * 1_000_003 + gid)
                account = accounts[gid % ACCOUNTS]
                region = REGIONS[gid % len(REGIONS)]
                domain = rng.choice(DOMAINS)
                entity = rng.choice(ENTITIES)
                name = f"{domain}_{entity}_{rng.choice(MEASURES)}_v{gid}"
                count = max(1, int(rng.gauss(per_group, per_group / 4)))
                feats = group_features(rng, count, domain)
                words = " ".join(f"{n} {d}" for n, _, d in feats)
                tags = {"domain": domain, "team": f"team-{gid % 40}", "env": rng.choice(["prod", "prod", "staging"])}
                if rng.random() < 0.2:
                    tags["pii"] = "true"
                modified = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
                copy.write_row(
                    (
                        gid,
                        uuid.uuid4(),
                        account.pk,
                        region,
                        f"arn:aws:sagemaker:{region}:{account.account_id}:feature-group/{name}",
                        name,
                        rng.choice(GROUP_DESCRIPTIONS).format(entity=entity, domain=domain),
                        "",
                        "id",
                        "event_time",
                        rng.random() < 0.6,
                        "{}",
                        rng.random() < 0.8,
                        "",
                        "",
                        "",
                        "",
                        "Created" if rng.random() < 0.97 else "CreateFailed",
                        "",
                        "",
                        json.dumps(tags),
                        modified,
                        modified,
                        "",
                        len(feats),
                        words,
                        rng.paretovariate(1.5) - 1,
                        modified,
                        now,
                        now if rng.random() < 0.02 else None,
                    )
                )
        print(f"  groups copied in {time.perf_counter() - started:.0f}s", flush=True)
        with (
            raw.cursor() as pg,
            pg.copy(
                "COPY catalog_feature (uuid, feature_group_id, name, position, type, collection_type, collection_config,"
                " description, pantry_description, parameters) FROM STDIN"
            ) as copy,
        ):
            for gid in range(1, groups + 1):
                # Replay the group's draws so the features match its feature_words.
                rng = random.Random(seed * 1_000_003 + gid)
                domain = rng.choice(DOMAINS)
                rng.choice(ENTITIES), rng.choice(MEASURES)
                count = max(1, int(rng.gauss(per_group, per_group / 4)))
                for position, (name, ftype, description) in enumerate(group_features(rng, count, domain)):
                    copy.write_row((uuid.uuid4(), gid, name, position, ftype, "", "{}", description, "", "{}"))
        print(f"  features copied in {time.perf_counter() - started:.0f}s", flush=True)
        cursor.execute("SELECT setval('catalog_featuregroup_id_seq', %s)", [groups])
        for name, definition in search_indexes:
            cursor.execute(definition)
            print(f"  index {name} built at {time.perf_counter() - started:.0f}s", flush=True)
        cursor.execute("ANALYZE catalog_featuregroup")
        cursor.execute("ANALYZE catalog_feature")
    # A data scientist in one consumer account that can discover a third of
    # the owner accounts' catalogs, plus one account of their own.
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench-scientist", password="bench")  # noqa: S106
    Membership.objects.create(user=user, account=accounts[0])
    for account in accounts[1:10]:
        for region in REGIONS:
            Grant.objects.create(
                owner_account=account,
                consumer_account=accounts[0],
                region=region,
                resource_type=Grant.ResourceType.CATALOG,
                permission=Grant.Permission.DISCOVER,
                source=Grant.Source.MANUAL,
            )
    print(f"loaded {groups} groups / {features} features in {time.perf_counter() - started:.0f}s", flush=True)


def vacuum_if_never_vacuumed() -> None:
    """VACUUM the group and feature tables once after a load, as autovacuum would in production.

    The bench server may run with autovacuum off; then a freshly loaded table
    has no visibility map, and every "index-only" walk of fg_popularity_walk
    reads the heap page of each group it passes (measured: 887 heap fetches
    for one search), which no production database does for long. The same
    holds for the feature table's index-only scans.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("catalog_featuregroup", "catalog_feature", "catalog_featurenamepairs"):
            cursor.execute(
                "SELECT last_vacuum IS NULL AND last_autovacuum IS NULL FROM pg_stat_user_tables WHERE relname = %s",
                [table],
            )
            row = cursor.fetchone()
            if row and row[0]:
                started = time.perf_counter()
                cursor.execute(f"VACUUM (ANALYZE) {table}")
                print(f"  vacuumed {table} in {time.perf_counter() - started:.0f}s", flush=True)


# (kind of query, q, facets). Facets use values that exist in the synthetic data.
QUERY_MIX = [
    ("single word", "customer", {}),
    ("single word", "count", {}),
    ("single word", "days", {}),
    ("single word", "merchant", {}),
    ("two words", "customer count", {}),
    ("two words", "days since", {}),
    ("two words", "payment amount", {}),
    ("typo", "custmer_age", {}),
    ("typo", "merchnt", {}),
    ("phrase", '"days since"', {}),
    ("phrase", '"customer events"', {}),
    ("1 facet", "customer", {"region": ["eu-west-1"]}),
    ("1 facet", "count", {"feature_type": ["Integral"]}),
    ("2 facets", "days", {"region": ["us-east-1"], "store": ["online"]}),
    ("2 facets", "customer count", {"tag": ["domain=risk"], "access": ["discoverable"]}),
    ("exclusion", "customer -days", {}),
    ("empty", "", {}),
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def run(*, repeats: int) -> str:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory, force_authenticate

    from bench._common import freeze_like_a_worker
    from catalog.api.search import SearchView

    user = get_user_model().objects.get(username="bench-scientist")
    view = SearchView.as_view()
    factory = APIRequestFactory()
    api: dict[tuple[str, str], list[float]] = {}
    sql: dict[tuple[str, str], list[float]] = {}
    # The machine is shared: the 1-minute load average when each query kind finished.
    load: dict[tuple[str, str], float] = {}

    def search(params: dict) -> tuple[bytes, float]:
        """One search through the API view: its body and the time the view took, in ms."""
        request = factory.get("/api/v1/search/", params)
        # A fresh user object: no cached per-user state between runs.
        force_authenticate(request, user=get_user_model().objects.get(pk=user.pk))
        start = time.perf_counter()
        response = view(request)
        response.render()
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.content[:500]
        return response.content, elapsed

    freeze_like_a_worker()
    for kind in ("groups", "features"):
        for label, q, facets in QUERY_MIX:
            params = {"q": q, "kind": kind, **facets}

            search(params)  # warm-up: the planner's estimates are cached, the pages are in memory
            # The statements the selector issues, recorded once. The query log is a bounded deque
            # (9,000 entries): once full, a capture's slice of it is empty; start it empty.
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                recorded, _ = search(params)
            statements = [query["sql"] for query in captured.captured_queries]
            for _ in range(repeats):
                # Timed as deployed, without the query log (Django's debug cursor formats and
                # stores each statement: ~0.3 ms a search on the API side only).
                content, elapsed = search(params)
                assert content == recorded, "a timed run answered differently from the recorded one"
                with connection.cursor() as cursor:
                    start = time.perf_counter()
                    for statement in statements:
                        cursor.execute(statement)
                        if cursor.description is not None:
                            cursor.fetchall()
                    bare = (time.perf_counter() - start) * 1000
                api.setdefault((kind, label), []).append(elapsed)
                sql.setdefault((kind, label), []).append(bare)
                load[(kind, label)] = os.getloadavg()[0]
    lines = [
        "| kind | query kind | API p50 | API p95 | API p99 | SQL p50 | SQL p95 | SQL p99 | API/SQL p95 | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (kind, label), times in api.items():
        bare = sql[(kind, label)]
        p95, s95 = percentile(times, 95), percentile(bare, 95)
        lines.append(
            f"| {kind} | {label} | {percentile(times, 50):.1f} | {p95:.1f} | {percentile(times, 99):.1f} "
            f"| {percentile(bare, 50):.1f} | {s95:.1f} | {percentile(bare, 99):.1f} | {p95 / s95:.2f}× "
            f"| {load[(kind, label)]:.1f} |"
        )
    return "\n".join(lines)


def write_report(table: str, *, groups: int, features: int, repeats: int) -> None:
    from bench._common import write_report_section

    write_report_section(
        "Search",
        f"`bench/search.py --groups {groups} --features {features}` on {os.cpu_count()} cores, "
        f"{datetime.now(UTC):%Y-%m-%d}; {repeats} runs of each query after one warm-up, times in ms. "
        "API = the DRF search view called in-process (selector + serialisation), without a query log as "
        "deployed; SQL = the same statements, recorded from a second identical request and replayed on a "
        "bare cursor. The user sees 10 of 30 accounts. "
        "`load` is the 1-minute load average when the kind finished (the machine is shared; above 2, "
        "other work competed for the two cores and the times are inflated). "
        "Design and trade-offs: docs/search.md.\n\n" + table,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--database", default=BENCH_DB, help=f"bench database name (default {BENCH_DB})")
    parser.add_argument("--reuse", action="store_true", help="reuse a loaded bench database")
    parser.add_argument("--load-only", action="store_true", help="load the catalogue, run no queries")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()

    from bench._common import embedded_services_if_needed

    embedded_services_if_needed()  # no DATABASE_URL: the embedded PostgreSQL
    admin_url, bench_url = bench_database_url(os.environ["DATABASE_URL"], args.database)
    fresh = create_database(admin_url, reuse=args.reuse, name=args.database)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("PANTRY_ENV", "development")
    os.environ["DEBUG"] = "false"  # DEBUG records every query: the API side would not be timed as deployed
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a reused database may predate newer migrations
    if fresh:
        load(groups=args.groups, features=args.features)
    vacuum_if_never_vacuumed()
    if args.load_only:
        return
    table = run(repeats=args.repeats)
    print(table)
    if not args.no_report:
        write_report(table, groups=args.groups, features=args.features, repeats=args.repeats)


if __name__ == "__main__":
    main()

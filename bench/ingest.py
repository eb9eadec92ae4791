"""CloudTrail ingestion benchmark (issue 7, "Measured, not asserted").

1. Starts the sandbox in its own process and writes N synthetic CloudTrail records with
   ``sandbox cloudtrail-synth --mode sandbox`` (5-minute files over a month, 30% Feature Store
   events, a quarter of those cross-account pairs, ~1% denied). The layout is the issue's, read
   as CloudTrail delivers: one file per account and region every 5 minutes — the synthetic
   organisation's 4 accounts × 1 region × 288 files a day × 30 days = 34,560 files, ~58 records
   each for the default 2,000,000 events. ``--days`` shortens the month for quick runs at the
   same file size (``--events 200000 --days 3``). Files this small make the per-file costs (one
   S3 GET each) weigh far more than at 100 million Feature Store events a day, where each
   5-minute file holds thousands of records.
2. Registers the bucket as a trail source (reader role in the log-archive account), lists it,
   and ingests it with ``--workers`` worker processes running the ingestion service (what the
   Celery task runs), timing listing + ingestion end to end.
3. Measures the bare decompress + parse rate (gzip + msgspec to Python objects, no filtering,
   no database) over a sample of the same files, in the same run.
4. Prints peak worker RSS, database size per million events (raw, rollups, ledger), and the
   p95 of the dashboard's own selectors over the run's rollups, replicated across earlier
   months until they stand for ``--dashboard-events`` events (raw events are not needed by
   those queries; ``bench/dashboard.py`` puts 10 M calls inside the 30-day window).

    python bench/ingest.py [--events 2000000] [--workers 2] [--no-report]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    ROOT,
    cpu_seconds,
    drop_database,
    freeze_like_a_worker,
    use_dedicated_database,
    write_report_section,
)

DB_NAME = "pantry_bench_ingest"
BUCKET = "pantry-cloudtrail-bench"
LOG_ARCHIVE = "202020202020"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker_main() -> int:
    """One ingestion worker process: claim and ingest batches until nothing is pending."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from usage import services

    freeze_like_a_worker()  # as a Celery worker does once started (portal/celery.py)
    backend = _local_backend_pid()
    backend_cpu = cpu_seconds(backend) if backend else 0.0
    started = time.perf_counter()
    profile_dir = os.environ.get("BENCH_INGEST_PROFILE")  # a folder: cProfile of each worker's main thread
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile()
        total = profiler.runcall(services.trail_files_ingest_for, seconds=24 * 3600)
        profiler.dump_stats(str(Path(profile_dir) / f"worker-{os.getpid()}.prof"))
    else:
        total = services.trail_files_ingest_for(seconds=24 * 3600)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / 1024
    print(
        json.dumps(
            {
                "files": total.files,
                "done": total.done,
                "quarantined": total.quarantined,
                "events_total": total.events_total,
                "events_kept": total.events_kept,
                "rows": total.rows_inserted,
                "seconds": time.perf_counter() - started,
                "rss_mb": rss_mb,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                # The CPU of this worker's PostgreSQL backend (None when the server is elsewhere).
                "pg_cpu_seconds": cpu_seconds(backend) - backend_cpu if backend else None,
            }
        )
    )
    return 0


def _local_backend_pid() -> int | None:
    """The pid of this connection's PostgreSQL backend, when it runs on this machine."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if command.startswith(b"postgres") else None


def _bare_parse_rate(url: str, keys: list[str], *, role_arn: str, external_id: str) -> dict:
    """gzip + msgspec.json.decode (untyped, every field) of these files: events/s, no I/O timed."""
    import boto3
    import msgspec

    # Read as the workers do, through the reader role in the bucket's account: S3 refuses the
    # platform's own key, which belongs to another account the bucket policy does not name.
    creds = boto3.client("sts", endpoint_url=url, region_name="eu-west-1").assume_role(
        RoleArn=role_arn, RoleSessionName="bench-parse", ExternalId=external_id
    )["Credentials"]
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda k: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read(), keys))
    started = time.perf_counter()
    events = 0
    for body in bodies:
        events += len(msgspec.json.decode(zlib.decompress(body, 31))["Records"])
    seconds = time.perf_counter() - started
    return {
        "files": len(keys),
        "events": events,
        "seconds": seconds,
        "rate": events / seconds,
        "bodies": dict(zip(keys, bodies, strict=True)),
    }


def _pipeline_from_memory(bodies: dict[str, bytes]) -> dict:
    """The same files ingested again in this process with S3 answered from memory: the worker's
    own rate (parse + COPY + rollups + ledger), without the sandbox's S3 in the way."""
    from django.db import connection

    from usage import aws as usage_aws
    from usage import services

    with connection.cursor() as cur:
        cur.execute("TRUNCATE usage_cloudtrailevent, usage_usagedaily")
        cur.execute("UPDATE usage_trailfile SET state = 'done'")
        cur.execute(
            "UPDATE usage_trailfile SET state = 'pending', claimed_by = '', attempts = 0 WHERE key = ANY(%s)",
            [list(bodies)],
        )
    original = usage_aws.TrailBucketGateway.object_chunks
    usage_aws.TrailBucketGateway.object_chunks = lambda self, *, bucket, key, chunk_bytes=0: iter([bodies[key]])
    try:
        started = time.perf_counter()
        total = services.trail_files_ingest_for(seconds=3600)
        seconds = time.perf_counter() - started
    finally:
        usage_aws.TrailBucketGateway.object_chunks = original
    return {"events": total.events_total, "files": total.done, "seconds": seconds, "rate": total.events_total / seconds}


def _db_sizes() -> dict[str, int]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cur:
        for table in ("usage_cloudtrailevent", "usage_usagedaily", "usage_trailfile"):
            cur.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = cur.fetchone()[0]
    return sizes


def _dashboard_p95(target_events: int, measured_events: int, runs: int = 20) -> tuple[dict, dict]:
    """The dashboard's own selectors over this run's rollups, with history up to `target_events`.

    The run's rollups (its 30-day window) are replicated into earlier months, the principals'
    daily rollup is derived for the copies with the migration's SQL (`usage.rollups`), the tables
    (and the run's raw events and ledger) are VACUUM ANALYZEd (as autovacuum would leave them), and each selector the governance
    dashboard and the group page run is timed. The window itself holds only this run's calls;
    `bench/dashboard.py` puts 10,000,000 calls inside the window.
    """
    from django.db import connection

    from bench.dashboard import _time
    from catalog.models import AwsAccount, FeatureGroup
    from usage import selectors
    from usage.rollups import PAIR_DAILY_FILL_SQL, PRINCIPAL_DAILY_FILL_SQL

    copies = max(0, round(target_events / max(1, measured_events)) - 1)
    with connection.cursor() as cur:
        cur.execute("SELECT min(day), max(day) FROM usage_usagedaily")
        first_day, last_day = cur.fetchone()
        for i in range(1, copies + 1):
            for table, columns in (
                (
                    "usage_usagedaily",
                    "feature_group_id, feature_group_arn, owner_account_id, consumer_account_id, principal_arn, "
                    "operation, outcome, read_only, calls",
                ),
                (
                    "usage_usagedailytotal",
                    "feature_group_id, feature_group_arn, owner_account_id, consumer_account_id, operation, outcome, "
                    "read_only, calls",
                ),
            ):
                cur.execute(
                    f"INSERT INTO {table} (day, {columns}) SELECT day - %s, {columns} FROM {table} "
                    "WHERE day >= %s ON CONFLICT DO NOTHING",
                    [32 * i, first_day],
                )
        # The copies' days of the day-keyed derived rollups (the last use of each pair is unchanged).
        for sql in (PRINCIPAL_DAILY_FILL_SQL, PAIR_DAILY_FILL_SQL):
            cur.execute(sql.format(where="day < %s"), [first_day])
        for table in (
            "usage_usagedaily",
            "usage_usagedailytotal",
            "usage_usageprincipaldaily",
            "usage_usagepairdaily",
            "usage_usagelastuse",
            # Not read by these selectors, but just written: left to autovacuum, its run on them
            # lands in the middle of the timings (one run measured grants vs use at 95 ms p95, the
            # next at 20).
            "usage_cloudtrailevent",
            "usage_trailfile",
        ):
            cur.execute(f"VACUUM (ANALYZE) {table}")
        cur.execute("SELECT count(*), coalesce(sum(calls), 0) FROM usage_usagedaily")
        rows, calls = cur.fetchone()
        cur.execute(
            "SELECT coalesce(sum(calls), 0) FROM usage_usagedaily WHERE day > %s", [last_day - dt.timedelta(30)]
        )
        window_calls = cur.fetchone()[0]
        cur.execute(
            "SELECT owner_account_id FROM usage_usagedaily WHERE owner_account_id <> '' GROUP BY 1 "
            "ORDER BY sum(calls) DESC LIMIT 1"
        )
        owner_id = cur.fetchone()[0]
    owner = AwsAccount.objects.filter(account_id=owner_id).first()
    group = FeatureGroup.objects.filter(account=owner).order_by("-popularity", "name").first() if owner else None
    everything = selectors.UsageScope(everything=True)
    owner_scope = selectors.UsageScope(everything=False, owner_account_ids=frozenset({owner_id}))
    month = selectors.UsageFilters.last_days(30)
    cases = {
        "per day: operations, reads/writes, outcomes (organisation, 30 days)": lambda: selectors.usage_day_breakdown(
            scope=everything, filters=month
        ),
        "top groups and consumer accounts (organisation)": lambda: selectors.usage_tops(
            scope=everything, filters=month
        ),
        "top principals (organisation)": lambda: selectors.usage_top_principals(scope=everything, filters=month),
        "denied calls (organisation)": lambda: selectors.usage_denied_summary(scope=everything, filters=month),
        "per day (one owner account)": lambda: selectors.usage_day_breakdown(scope=owner_scope, filters=month),
        "grants vs use": lambda: selectors.grants_vs_use(),
    }
    if group is not None:
        cases["group page: used by N accounts"] = lambda: selectors.group_usage_counts(group=group)
        cases["group page: owner panel"] = lambda: selectors.group_usage(group=group)
    freeze_like_a_worker()
    out = {name: _time(fn, runs)[1] for name, fn in cases.items()}
    return out, {"rows": rows, "calls": calls, "window_calls": window_calls, "months": copies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--parse-sample", type=int, default=2000, help="files in the bare-parse sample")
    parser.add_argument("--dashboard-events", type=int, default=10_000_000)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--database", default=DB_NAME, help=f"the dedicated database (dropped first; default {DB_NAME})"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker_main()

    creds = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-1"}
    os.environ.update(creds)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(port)],
        cwd=ROOT, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    url = server.stdout.readline().strip()
    os.environ["AWS_ENDPOINT_URL"] = url
    use_dedicated_database(args.database)
    from django.conf import settings

    from catalog.models import AwsAccount, FeatureGroup
    from sandbox.cloudtrail.trails import _reader_role
    from usage import services
    from usage.models import TrailSource

    try:
        print(f"writing {args.events:,} synthetic CloudTrail records into the sandbox…", flush=True)
        t0 = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable, "-m", "sandbox", "cloudtrail-synth", "--events", str(args.events),
                "--days", str(args.days), "--fs-share", "0.3", "--endpoint", url, "--mode", "sandbox",
                "--bucket", BUCKET, "--processes", "2", "--json",
            ],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=7200,
        )  # fmt: skip
        synth = json.loads(out.stdout)
        print(
            f"  {synth['records']:,} records ({synth['feature_store_records']:,} Feature Store, "
            f"{synth['cross_account_pairs']:,} cross-account pairs) in {synth['files']:,} files, "
            f"{synth['bytes'] / 1e6:.0f} MB gzipped, written in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        role_arn = _reader_role(url, LOG_ARCHIVE, "PantryTrailReader", "pantry-bench", [BUCKET])
        for account in synth["accounts"]:
            owner = AwsAccount.objects.create(
                account_id=account,
                name=f"bench-{account}",
                role_arn=f"arn:aws:iam::{account}:role/PantryCatalogReader",
                external_id="bench",
                regions=["eu-west-1"],
            )
            index = synth["accounts"].index(account)
            FeatureGroup.objects.bulk_create(
                FeatureGroup(
                    account=owner,
                    region="eu-west-1",
                    name=f"bench_group_{i:05d}",
                    arn=f"arn:aws:sagemaker:eu-west-1:{account}:feature-group/bench_group_{i:05d}",
                )
                for i in range(index, 200, len(synth["accounts"]))
            )
        source = TrailSource.objects.create(
            name="bench",
            bucket=BUCKET,
            region="eu-west-1",
            kind=TrailSource.Kind.ORGANISATION,
            organisation_id=synth["log_prefix"].split("/")[1],
            account_id=LOG_ARCHIVE,
            role_arn=role_arn,
            external_id="pantry-bench",
        )
        settings.PANTRY_USAGE_BACKFILL_DAYS = int(args.days) + 2

        sandbox_cpu = cpu_seconds(server.pid)
        started = time.perf_counter()
        listing = services.trail_source_list(source=source)
        listed_at = time.perf_counter()
        print(f"listed {listing.listed:,} files in {listed_at - started:.1f} s", flush=True)
        parts = urlsplit(settings.DATABASE_URL)
        env = {
            **os.environ,
            "DATABASE_URL": urlunsplit(parts._replace(path="/" + args.database)),
            "PANTRY_ENV": "development",
            "DEBUG": "false",
            "PANTRY_USAGE_BACKFILL_DAYS": str(int(args.days) + 2),
        }
        workers = [
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(args.workers)
        ]
        reports = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
        finished = time.perf_counter()
        end_to_end = finished - started
        events = sum(r["events_total"] for r in reports)
        kept = sum(r["events_kept"] for r in reports)
        rate = events / end_to_end
        print(
            f"ingested {sum(r['done'] for r in reports):,} files ({sum(r['quarantined'] for r in reports)} quarantined): "
            f"{events:,} events read, {kept:,} kept, in {end_to_end:.1f} s end to end = {rate:,.0f} events/s",
            flush=True,
        )
        sandbox_cpu = cpu_seconds(server.pid) - sandbox_cpu
        files = sum(r["done"] for r in reports)
        worker_cpu = sum(r["cpu_seconds"] for r in reports)
        pg_cpus = [r["pg_cpu_seconds"] for r in reports]
        pg_per_file = f"{sum(pg_cpus) / files * 1000:.2f} ms" if None not in pg_cpus else "not measured (remote server)"
        print(
            f"sandbox served {files / end_to_end:,.0f} files/s; CPU per file: workers {worker_cpu / files * 1000:.2f} ms, "
            f"their PostgreSQL backends {pg_per_file}, sandbox {sandbox_cpu / files * 1000:.2f} ms (listing included)",
            flush=True,
        )
        rss = max(r["rss_mb"] for r in reports)
        print(f"peak worker RSS: {rss:.0f} MB", flush=True)

        sizes = _db_sizes()
        per_million = {t: s / events * 1e6 / 1e6 for t, s in sizes.items()}
        print(
            "database per million events read: " + ", ".join(f"{t} {mb:.1f} MB" for t, mb in per_million.items()),
            flush=True,
        )
        dashboard, rollups = _dashboard_p95(args.dashboard_events, events)
        for name, p95 in dashboard.items():
            print(f"  dashboard p95 {p95:6.1f} ms  {name}")
        print(
            f"  (rollups: {rollups['rows']:,} rows standing for {rollups['calls']:,} calls, "
            f"{rollups['window_calls']:,} in the 30-day window)"
        )
        keys = list(source.files.order_by("?").values_list("key", flat=True)[: args.parse_sample])
        bare = _bare_parse_rate(url, keys, role_arn=role_arn, external_id=source.external_id)
        print(
            f"bare gunzip + msgspec parse: {bare['events']:,} events of {bare['files']} files in "
            f"{bare['seconds']:.2f} s = {bare['rate']:,.0f} events/s (one process); "
            f"end to end ({args.workers} workers) is {rate / bare['rate']:.0%} of it",
            flush=True,
        )
        memory = _pipeline_from_memory(bare.pop("bodies"))
        print(
            f"ingest pipeline with S3 answered from memory, one process, same files: {memory['events']:,} events "
            f"in {memory['seconds']:.2f} s = {memory['rate']:,.0f} events/s ({memory['rate'] / bare['rate']:.0%} "
            "of the bare parse)",
            flush=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=60)
        if not args.keep_database:
            drop_database(args.database)

    if not args.no_report:
        load = os.getloadavg()[0]
        dashboard_rows = "\n".join(f"| {name} | {p95:.1f} |" for name, p95 in dashboard.items())
        body = f"""
`python bench/ingest.py --events {args.events} --workers {args.workers}` on {os.cpu_count()} cores
({platform.python_implementation()} {platform.python_version()}, load average {load:.1f} when it finished;
the sandbox, PostgreSQL and the workers share the two cores).

Input: {synth["records"]:,} records ({synth["feature_store_records"]:,} Feature Store,
{synth["cross_account_pairs"]:,} cross-account pairs) in {synth["files"]:,} files over {args.days:g} days,
{synth["bytes"] / 1e6:.0f} MB gzipped ({synth["uncompressed_bytes"] / 1e6:.0f} MB JSON).

| measure | value | target |
|---|---:|---:|
| end to end (list + download + parse + COPY + rollups + ledger), {args.workers} workers | {rate:,.0f} events/s ({end_to_end:.1f} s) | ≥ 50,000 |
| bare gunzip + msgspec parse, one process, {bare["files"]} files of the same run | {bare["rate"]:,.0f} events/s | — |
| end to end / bare parse | {rate / bare["rate"]:.0%} | ≥ 50% |
| worker pipeline with S3 answered from memory (same sample, one process) | {memory["rate"]:,.0f} events/s ({memory["rate"] / bare["rate"]:.0%} of bare parse) | — |
| peak worker RSS | {rss:.0f} MB | ≤ 300 MB |
| raw events per million events read | {per_million["usage_cloudtrailevent"]:.1f} MB | — |
| rollups per million events read | {per_million["usage_usagedaily"]:.1f} MB | — |
| ledger per million events read | {per_million["usage_trailfile"]:.1f} MB | — |

The dashboard's selectors over this run's rollups ({rollups["window_calls"]:,} calls in the 30-day
window; with {rollups["months"]} earlier months replicated from it, {rollups["rows"]:,} `UsageDaily`
rows standing for {rollups["calls"]:,} calls), p95 of 20 runs; `bench/dashboard.py` measures the
same selectors with 10,000,000 calls inside the window (docs/usage.md § Speed):

| query | p95 ms |
|---|---:|
{dashboard_rows}

Reading the figures: the synthetic files hold ~{synth["records"] / synth["files"]:.0f} records each, and
every one is a GET from the sandbox's S3 (one Python process on the same two cores; plain reads
take its fast path, docs/sandbox.md § Serving speed). The sandbox served {files / end_to_end:,.0f}
files/s; CPU per file: workers {worker_cpu / files * 1000:.2f} ms (the download, a boto3-presigned
plain GET, docs/usage.md § Downloads; gunzip, parse, staging), their PostgreSQL backends {pg_per_file}, sandbox
{sandbox_cpu / files * 1000:.2f} ms. The row "S3 answered from memory" is the workers' own rate on the same files (gzip,
msgspec, filtering, COPY, the raw insert with its dedupe, rollup upserts, ledger and health
updates, one transaction per batch); the bare parse decodes every field of every record and
keeps nothing. Peak RSS is bounded by the batch size (`PANTRY_USAGE_BATCH_BYTES`) and the
in-memory JSON limit (`PANTRY_USAGE_MAX_BUFFER_MB`), whatever the file size: larger files
stream. Raw events are deleted after the retention window; rollups and the ledger stay.
"""
        write_report_section("CloudTrail ingestion", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

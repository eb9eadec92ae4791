"""Load benchmark: gunicorn + PostgreSQL at the search benchmark's size, many signed-in users.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/search.py --load-only
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/load.py
    ... --users 50 --governance 5 --duration 60 --think 1.0
    ... --workers 3 --threads 4 --worker-class gthread      # instead of gunicorn.conf.py's choice
    ... --routes search_page,search_api,group,lineage,dashboard

It reuses the catalogue `bench/search.py` loaded (50,000 groups / 2,000,000
features in its own database, `pantry_bench` unless --database says
otherwise), adds lineage around the groups the users open and `--users`
people: all but `--governance` of them belong to the bench's consumer account
(data scientists, who see a third of the catalogue); the governance ones see
everything and also open the usage dashboard, over usage rollups seeded with
bench/dashboard.py's generator (`--usage-principals` callers over
`--usage-days` days, on 300 groups of its own). Each person is signed in by
creating a session row (the cookie a browser would hold after the login
form). gunicorn starts with gunicorn.conf.py (as deployed, JSON access log
included) and an asyncio client (httpx) drives it: every user loops over the
routes of their persona by weight with an exponential think time between
requests, for `--duration` seconds after a short warm-up. A request counts as
an error when it fails or its status is not 200 (a redirect to the login page
is an error). The table (p50 / p95 / p99 per route and overall, errors,
throughput, load average, and the server's CPU per request: gunicorn's
processes and the database's backends, read from /proc, which stays
meaningful on a busy machine where latencies do not) goes to stdout and to
docs/benchmarks.md under "## Load".

Routes are named; one whose URL does not exist in this build is skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import cpu_seconds, parent_pid  # noqa: E402
from bench.search import BENCH_DB, QUERY_MIX, bench_database_url, percentile  # noqa: E402

# name → (weight, URL name to check it exists). Weights: what a browsing
# data scientist does most (search as they type), then open groups and lineage.
# The dashboard's weight applies to the governance persona only (others get a 403 there).
ROUTES = {
    "search_page": (30, "catalog:catalog_list"),
    "search_api": (15, "api-search"),
    "group": (25, "catalog:group_detail"),
    "lineage": (15, "catalog:group_lineage"),
    "lineage_api": (5, "featuregroup-lineage"),
    "dashboard": (90, "usage:dashboard"),
}
# Routes only the governance persona opens; the other users never ask for them.
GOVERNANCE_ROUTES = {"dashboard"}
USER_PREFIX = "load-user-"
GOVERNANCE_PREFIX = "load-governance-"
LINEAGE_GROUPS = 300  # groups the users open, each given upstream sources and downstream models
KEEPALIVE_EXPIRY = 4.0  # seconds; below gunicorn's keep-alive


def setup(*, users: int, governance: int = 0) -> dict:
    """Users, their sessions and some lineage in the bench database (idempotent).

    The first `users - governance` users belong to the bench's consumer account
    (data scientists); the last `governance` ones are in the governance group
    (they see every account and open the usage dashboard) and belong to no account.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from catalog.models import GOVERNANCE_GROUP, AwsAccount, FeatureGroup, LineageEdge, LineageNode, Membership
    from sharing.visibility import visibility_scope

    consumer = AwsAccount.objects.get(name="bench-account-00")
    governance_group, _ = Group.objects.get_or_create(name=GOVERNANCE_GROUP)
    user_model = get_user_model()
    cookies, governance_cookies = [], []
    people = [(f"{USER_PREFIX}{i:03d}", False) for i in range(users - governance)]
    people += [(f"{GOVERNANCE_PREFIX}{i:03d}", True) for i in range(governance)]
    for username, overseer in people:
        user, created = user_model.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        if overseer:
            user.groups.add(governance_group)
        else:
            Membership.objects.get_or_create(user=user, account=consumer)
        # What the login view stores in the session; the cookie is all the client holds.
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        (governance_cookies if overseer else cookies).append(session.session_key)
    # The groups users open: popular visible ones, as a search would lead them to.
    user = user_model.objects.get(username=f"{USER_PREFIX}000")
    groups = list(
        FeatureGroup.objects.visible_to(user, scope=visibility_scope(user))
        .live()
        .order_by("-popularity", "id")
        .values_list("id", "uuid", "arn", "name", "account_id")[:LINEAGE_GROUPS]
    )
    _lineage_seed(groups, LineageNode=LineageNode, LineageEdge=LineageEdge)
    return {
        "cookies": cookies,
        "governance_cookies": governance_cookies,
        "groups": [str(uuid) for _, uuid, _, _, _ in groups],
    }


def usage_seed(*, principals: int, days: int) -> dict:
    """Usage rollups for the governance dashboard: bench/dashboard.py's synthetic month (idempotent).

    `principals` callers each read 3 (group, operation) pairs a day over `days`
    days, on bench/dashboard.py's 300 `bench_group_*` groups in 10 owner accounts
    of their own (outside the bench users' view); no earlier months. Rows that
    already exist are kept (the insert skips conflicts), so a second run adds nothing.
    """
    from django.db import connection

    from bench.dashboard import _seed

    seeded = _seed(
        events=principals * 3 * days * 10, days=days, principals=principals, groups=300, accounts=40, history_months=0
    )
    with connection.cursor() as cur:  # as autovacuum would leave the table: index-only scans work
        cur.execute("VACUUM ANALYZE usage_usagedaily")
        cur.execute("VACUUM ANALYZE usage_usagedailytotal")
    return seeded


def _lineage_seed(groups, *, LineageNode, LineageEdge) -> None:  # noqa: N803 (model classes)
    """Per group: two S3 sources and a pipeline upstream, two models downstream, one shared job."""
    if LineageEdge.objects.filter(origin="sagemaker", relation="bench").exists():
        return
    nodes = [
        LineageNode(key=arn, kind="feature_group", name=name, account_id=account_id, feature_group_id=gid)
        for gid, _, arn, name, account_id in groups
    ]
    existing = set(LineageNode.objects.filter(key__in=[n.key for n in nodes]).values_list("key", flat=True))
    LineageNode.objects.bulk_create([n for n in nodes if n.key not in existing])
    by_key = {n.key: n for n in LineageNode.objects.filter(key__in=[n.key for n in nodes])}
    shared = LineageNode.objects.create(key="bench::nightly-features", kind="pipeline", name="nightly-features")
    extra, edges = [], []
    for _, _, arn, name, _ in groups:
        group_node = by_key[arn]
        upstream = [
            LineageNode(key=f"s3://bench-raw/{name}/events/", kind="s3", name=f"{name} events"),
            LineageNode(key=f"s3://bench-raw/{name}/profiles/", kind="s3", name=f"{name} profiles"),
        ]
        downstream = [
            LineageNode(key=f"bench::model/{name}/churn", kind="model", name=f"{name} churn model"),
            LineageNode(key=f"bench::model/{name}/ltv", kind="model", name=f"{name} ltv model"),
        ]
        extra += upstream + downstream
        edges += [(u, group_node) for u in upstream] + [(group_node, d) for d in downstream]
        edges.append((shared, group_node))
    LineageNode.objects.bulk_create(extra)
    LineageEdge.objects.bulk_create(
        [LineageEdge(source=s, target=t, origin="sagemaker", relation="bench") for s, t in edges]
    )


def routes_available(names: list[str]) -> tuple[list[str], list[str]]:
    """The named routes whose URL exists in this build, and a note for each one skipped."""
    from django.urls import NoReverseMatch, reverse

    sample = "00000000-0000-0000-0000-000000000000"
    present, notes = [], []
    for name in names:
        if name not in ROUTES:
            notes.append(f"unknown route {name!r} skipped (known: {', '.join(ROUTES)})")
            continue
        for kwargs in ({}, {"group_uuid": sample}, {"id": sample}):
            try:
                reverse(ROUTES[name][1], kwargs=kwargs)
            except NoReverseMatch:
                continue
            present.append(name)
            break
        else:
            notes.append(f"route {name!r} ({ROUTES[name][1]}) does not exist in this build: skipped")
    return present, notes


def url_for(route: str, rng: random.Random, groups: list[str]) -> tuple[str, dict]:
    from django.urls import reverse

    _, q, facets = rng.choice(QUERY_MIX)
    kind = rng.choice(["groups", "groups", "features"])
    if route == "search_page":
        # Live search: htmx asks for the results fragment as the user types.
        return f"/catalog/?{urlencode({'q': q, 'kind': kind, **facets}, doseq=True)}", {"HX-Request": "true"}
    if route == "search_api":
        return f"/api/v1/search/?{urlencode({'q': q, 'kind': kind, **facets}, doseq=True)}", {}
    group = rng.choice(groups)
    if route == "group":
        return reverse("catalog:group_detail", kwargs={"group_uuid": group}), {}
    if route == "lineage":
        return reverse("catalog:group_lineage", kwargs={"group_uuid": group}), {}
    if route == "lineage_api":
        return reverse("featuregroup-lineage", kwargs={"id": group}), {}
    return reverse(ROUTES[route][1]), {}


def persona_routes(routes: list[str], *, governance: bool) -> tuple[list[str], list[int]]:
    """The routes a persona opens and their weights: governance-only routes for governance alone."""
    chosen = [name for name in routes if governance or name not in GOVERNANCE_ROUTES]
    return chosen, [ROUTES[name][0] for name in chosen]


async def drive(
    *,
    base: str,
    cookies: list[str],
    governance_cookies: list[str],
    groups: list[str],
    routes: list[str],
    duration: float,
    warmup: float,
    think: float,
    sample=None,
) -> tuple[dict[str, list[float]], dict[str, int], dict[str, str], float, list]:
    """Drive the users; `sample()` (server CPU so far) is taken when measuring starts and ends."""
    import httpx

    times: dict[str, list[float]] = {name: [] for name in routes}
    errors: dict[str, int] = {name: 0 for name in routes}
    examples: dict[str, str] = {}
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + duration
    people = [(cookie, False) for cookie in cookies] + [(cookie, True) for cookie in governance_cookies]
    # Idle connections expire on the client before gunicorn's keep-alive (5 s, gunicorn.conf.py)
    # closes them, as a proxy in front of it is configured (docs/deploy.md): with equal timeouts
    # a request sent just as the server closes the idle connection fails with a ReadError
    # (httpx's default expiry is 5 s too; a user who paused ~5 s between clicks hit it).
    limits = httpx.Limits(
        max_connections=len(people), max_keepalive_connections=len(people), keepalive_expiry=KEEPALIVE_EXPIRY
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def user_loop(index: int, cookie: str, governance: bool) -> None:
            rng = random.Random(index)
            mine, weights = persona_routes(routes, governance=governance)
            if not mine:
                return
            await asyncio.sleep(rng.uniform(0, min(think, 1.0) if think else 0.05))  # do not start in lockstep
            while (now := time.perf_counter()) < stop_at:
                route = rng.choices(mine, weights)[0]
                path, headers = url_for(route, rng, groups)
                t0 = time.perf_counter()
                try:
                    response = await client.get(path, headers=headers, cookies={"sessionid": cookie})
                    ok = response.status_code == 200
                    problem = f"{response.status_code} {path}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{type(exc).__name__} {path}"
                elapsed = (time.perf_counter() - t0) * 1000
                if now >= measure_from:
                    times[route].append(elapsed)
                    if not ok:
                        errors[route] += 1
                        examples.setdefault(route, problem)
                if think:
                    await asyncio.sleep(rng.expovariate(1 / think))

        samples: list = []

        async def sampler() -> None:
            if sample is None:
                return
            for at in (measure_from, stop_at):
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                samples.append(await asyncio.to_thread(sample))

        await asyncio.gather(
            sampler(), *(user_loop(i, cookie, governance) for i, (cookie, governance) in enumerate(people))
        )
    return times, errors, examples, duration, samples


def report(
    times,
    errors,
    examples,
    *,
    duration: float,
    load_before: tuple,
    load_after: tuple,
    notes: list[str],
    samples: list | None = None,
) -> str:
    lines = [
        "| route | requests | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    every: list[float] = []
    for route, values in times.items():
        every += values
        if not values:
            lines.append(f"| {route} | 0 | — | — | — | {errors[route]} |")
            continue
        lines.append(
            f"| {route} | {len(values)} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} "
            f"| {percentile(values, 99):.1f} | {errors[route]} |"
        )
    total_errors = sum(errors.values())
    if every:
        lines.append(
            f"| **all** | {len(every)} | {percentile(every, 50):.1f} | {percentile(every, 95):.1f} "
            f"| {percentile(every, 99):.1f} | {total_errors} |"
        )
    lines.append("")
    lines.append(
        f"Throughput {len(every) / duration:.1f} requests/s. Load average (1, 5, 15 min) "
        f"{', '.join(f'{x:.2f}' for x in load_before)} before, {', '.join(f'{x:.2f}' for x in load_after)} after."
    )
    if samples and len(samples) == 2 and every:
        web = (samples[1][0] - samples[0][0]) * 1000 / len(every)
        db = (samples[1][1] - samples[0][1]) * 1000 / len(every)
        lines.append(
            f"Server CPU per request: {web:.1f} ms in gunicorn, {db:.1f} ms in PostgreSQL backends "
            f"({web + db:.1f} ms; the client's own CPU not included)."
        )
    for route, problem in examples.items():
        lines.append(f"First error on {route}: {problem}.")
    lines += notes
    return "\n".join(lines)


def start_gunicorn(
    *, bench_url: str, port: int, workers: int | None, threads: int | None, worker_class: str | None
) -> subprocess.Popen:
    """gunicorn as deployed (gunicorn.conf.py: its worker class, threads, JSON access log), on `port`.

    `workers`, `threads` and `worker_class` override the configuration's choice when given. The
    access log is written (its cost is part of a request's) to /dev/null; errors go to stderr.
    """
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        # Development settings (no TLS redirect, local hosts allowed) with DEBUG
        # off: templates cached, no query log, no debug toolbar.
        "PANTRY_ENV": "development",
        "DEBUG": "false",
        "DB_CONN_MAX_AGE": "600",
        "BIND_HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--backlog",
        "512",
    ]
    if worker_class == "sync" and threads is None:
        threads = 1  # gunicorn turns sync workers with threads into gthread ones
    for flag, value in (("--workers", workers), ("--threads", threads), ("--worker-class", worker_class)):
        if value is not None:
            command += [flag, str(value)]
    return subprocess.Popen(  # noqa: S603 (our own command)
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )


def server_cpu_seconds(server_pid: int, database: str) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master, live and exited workers) and by PostgreSQL: the
    backends connected to `database` now, plus every backend the postmaster has reaped. Django
    closes a connection after `DB_CONN_MAX_AGE` (60 s), so a run outlives its first backends; their
    CPU moves from the first figure to the second when they exit, and the difference of two samples
    counts it once. Backends of other databases, autovacuum and parallel workers that exit
    meanwhile count too: run on a quiet server."""
    gunicorn = cpu_seconds(server_pid, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        if parent_pid(int(stat.parent.name)) == server_pid:
            gunicorn += cpu_seconds(int(stat.parent.name))
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        backends = [pid for (pid,) in cur.fetchall()]
        cur.execute("SELECT pg_backend_pid()")
        postmaster = parent_pid(cur.fetchone()[0])  # None when the server is on another machine
    # The sampling connection stays open for the run: closed, its own backend's CPU would be
    # reaped into the next sample.
    reaped = cpu_seconds(postmaster, own=False, children=True) if postmaster else 0.0
    return gunicorn, sum(cpu_seconds(pid) for pid in backends) + reaped


def gunicorn_description(args) -> str:
    """What the server runs: gunicorn.conf.py's choice with the command line's overrides."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    worker_class = args.worker_class or getattr(conf, "worker_class", "sync")
    threads = args.threads or (1 if args.worker_class == "sync" else getattr(conf, "threads", 1))
    workers = args.workers or conf.workers
    if worker_class == "sync" and threads > 1:
        worker_class = "gthread"  # what gunicorn does with threads > 1
    return f"{workers} {worker_class} workers" + (f" × {threads} threads" if worker_class == "gthread" else "")


def wait_until_up(base: str, *, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=BENCH_DB, help="the database bench/search.py loaded")
    parser.add_argument("--users", type=int, default=50, help="signed-in users, governance ones included")
    parser.add_argument("--governance", type=int, default=5, help="of --users, how many are governance")
    parser.add_argument(
        "--usage-principals", type=int, default=500, help="callers in the dashboard's seeded usage rollups"
    )
    parser.add_argument("--usage-days", type=int, default=30, help="days of seeded usage rollups")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds driven before measuring")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a user waits between requests")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: gunicorn.conf.py's)")
    parser.add_argument("--worker-class", default=None, help="gunicorn worker class (default: gunicorn.conf.py's)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated route names")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()

    from bench._common import embedded_services_if_needed

    embedded_services_if_needed()  # no DATABASE_URL / CELERY_BROKER_URL: the embedded servers
    _, bench_url = bench_database_url(os.environ["DATABASE_URL"], args.database)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("PANTRY_ENV", "development")
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.db import connection

    from catalog.models import FeatureGroup

    if not FeatureGroup.objects.exists():
        raise SystemExit(f"{args.database} has no catalogue: run bench/search.py --load-only first")
    groups_total = FeatureGroup.objects.count()
    routes, notes = routes_available([name.strip() for name in args.routes.split(",") if name.strip()])
    for note in notes:
        print(f"note: {note}", flush=True)
    from django.core.management import call_command

    # DEBUG off serves static files through the manifest, as a deployment does.
    call_command("collectstatic", interactive=False, verbosity=0)
    if args.governance > args.users:
        raise SystemExit("--governance cannot exceed --users")
    prepared = setup(users=args.users, governance=args.governance if "dashboard" in routes else 0)
    if "dashboard" in routes and args.governance:
        seeded = usage_seed(principals=args.usage_principals, days=args.usage_days)
        print(
            f"usage rollups: {seeded['window_rows']:,} rows in the {args.usage_days}-day window "
            f"({seeded['window_calls']:,} calls)",
            flush=True,
        )
    connection.close()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base = f"http://127.0.0.1:{args.port}"
    server = start_gunicorn(
        bench_url=bench_url,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        worker_class=args.worker_class,
    )
    serving = gunicorn_description(args)
    try:
        wait_until_up(base)
        load_before = os.getloadavg()
        print(
            f"driving {args.users} users over {', '.join(routes)} for {args.duration:.0f}s "
            f"(think {args.think}s, gunicorn {serving}, load average {load_before[0]:.2f})",
            flush=True,
        )
        times, errors, examples, duration, samples = asyncio.run(
            drive(
                base=base,
                cookies=prepared["cookies"],
                governance_cookies=prepared["governance_cookies"],
                groups=prepared["groups"],
                routes=routes,
                duration=args.duration,
                warmup=args.warmup,
                think=args.think,
                sample=lambda: server_cpu_seconds(server.pid, args.database),
            )
        )
        load_after = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    table = report(
        times,
        errors,
        examples,
        duration=duration,
        load_before=load_before,
        load_after=load_after,
        notes=[f"Note: {note}." for note in notes],
        samples=samples,
    )
    print(table)
    if not args.no_report:
        from bench._common import write_report_section

        write_report_section(
            "Load",
            f"`bench/load.py --users {args.users} --governance {args.governance} --duration {args.duration:.0f} "
            f"--think {args.think}` on {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
            f"gunicorn ({serving}, gunicorn.conf.py) + PostgreSQL over the search benchmark's catalogue "
            f"({groups_total:,} groups); {args.users} signed-in users (session cookies), "
            f"{args.users - args.governance} data scientists and {args.governance} governance, each looping "
            f"over the routes by weight ({', '.join(f'{r} {ROUTES[r][0]}' for r in routes)}; the dashboard "
            f"for governance only, {args.usage_principals} callers' rollups over {args.usage_days} days, "
            "from bench/dashboard.py) with an exponential think time of mean "
            f"{args.think} s, measured for {args.duration:.0f} s after a {args.warmup:.0f} s warm-up. Times are "
            "client-side (request sent to body read), in ms; an error is any status but 200. "
            "The search routes draw from bench/search.py's query mix; group and lineage pages from the "
            f"{LINEAGE_GROUPS} most popular visible groups, each with five lineage edges.\n\n" + table,
        )


if __name__ == "__main__":
    main()

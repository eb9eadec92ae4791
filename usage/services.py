"""Usage writes: trail sources, listing log files into the ledger, ingesting them exactly once,
sweeping dead workers' claims, retention, replay.

Exactly once (docs/usage.md): a file's ledger row, its kept events and its rollup increments
commit in one transaction, and that transaction only proceeds while the row is still claimed
by the same worker. Workers claim files with `FOR UPDATE SKIP LOCKED`, so any number of them
on any number of machines split the work without coordination. Events are staged with COPY
and moved with set-based SQL (no per-event ORM), so a worker keeps up with ~10^5 events/s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from celery import signature
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone

from catalog.models import AwsAccount
from portal.audit import audit_log
from portal.aws import AwsAccessDenied, AwsError, error_summary
from usage import aws as usage_aws
from usage.ingest import (
    STAGE_COLUMNS,
    FileProblem,
    FileResult,
    IngestContext,
    NeedsStreaming,
    lookback_start_after,
    parse_log_key,
    read_log_file,
)
from usage.models import CloudTrailEvent, TrailFile, TrailSource, UsageDaily, UsageDailyTotal, UsagePairDaily

logger = logging.getLogger(__name__)

# Test hook: called with the stage name ("staged", "counted") inside the batch transaction, so
# tests can stop a worker mid-file exactly where a crash would hurt most.
fault_hook: Callable[[str], None] | None = None


# --------------------------------------------------------------------------- trail sources

SOURCE_FIELDS = (
    "name",
    "bucket",
    "prefix",
    "region",
    "kind",
    "organisation_id",
    "account_id",
    "role_arn",
    "external_id",
    "enabled",
)


def _check_source_fields(fields: dict) -> None:
    unknown = set(fields) - set(SOURCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown trail source fields: {sorted(unknown)}")


def _audit_source(*, actor, action: str, source: TrailSource, **snapshots) -> None:
    """One trail source audit row (`before`/`after` snapshots as given), inside the caller's transaction."""
    audit_log(
        actor=actor,
        action=action,
        object_type="trail_source",
        object_id=str(source.uuid),
        object_label=source.name,
        owner_account_id=source.account_id,
        **snapshots,
    )


def trail_source_create(*, actor, **fields) -> TrailSource:
    """Register a trail's bucket for ingestion (operators only; audited)."""
    _check_source_fields(fields)
    with transaction.atomic():
        source = TrailSource.objects.create(**fields)
        _audit_source(actor=actor, action="trail_source.created", source=source, after=_source_snapshot(source))
    return source


def trail_source_update(*, actor, source: TrailSource, **fields) -> TrailSource:
    _check_source_fields(fields)
    with transaction.atomic():
        locked = TrailSource.objects.select_for_update().get(pk=source.pk)
        before = _source_snapshot(locked)
        location_changed = any(
            fields.get(f, getattr(locked, f)) != getattr(locked, f) for f in ("bucket", "prefix", "organisation_id")
        )
        for name, value in fields.items():
            setattr(locked, name, value)
        if location_changed:
            locked.cursor = {}
            locked.accounts_seen = []
        locked.save()
        _audit_source(
            actor=actor, action="trail_source.updated", source=locked, before=before, after=_source_snapshot(locked)
        )
    return locked


def trail_source_delete(*, actor, source: TrailSource) -> None:
    """Remove a trail source with its ledger (audited). Usage already counted stays: rollups and
    raw events do not depend on the source."""
    with transaction.atomic():
        locked = TrailSource.objects.select_for_update().get(pk=source.pk)
        _audit_source(actor=actor, action="trail_source.deleted", source=locked, before=_source_snapshot(locked))
        locked.delete()


def _source_snapshot(source: TrailSource) -> dict:
    # The external id is a confused-deputy guard: recorded as set or not, never its value.
    data = {f: getattr(source, f) for f in SOURCE_FIELDS if f != "external_id"}
    data["external_id_set"] = bool(source.external_id)
    return data


# --------------------------------------------------------------------------- listing


def _gateway(source: TrailSource) -> usage_aws.TrailBucketGateway:
    return usage_aws.trail_bucket_gateway(
        role_arn=source.role_arn, external_id=source.external_id, region=source.region
    )


@dataclass
class ListingResult:
    new_files: int = 0
    listed: int = 0
    error: str = ""


# The first key of the session-level advisory lock a scheduled listing holds on its source
# (pg_try_advisory_lock(int, int): the second key is the source's id).
LISTING_LOCK_KEY = 0x7573_6C73  # "usls"


def trail_sources_list() -> dict[str, ListingResult]:
    """List every enabled source that no other worker is listing; one failing source never stops
    the others.

    Beat asks every PANTRY_USAGE_LIST_SECONDS. Against a slow bucket a listing can outlast that
    (measured: 122 s a listing with S3 answering slowly), and without the lock each tick started
    another listing of the same folders, until listings filled every worker process and files
    waited minutes to be ingested. A source being listed is skipped: the listing under way adds
    its files. The lock is PostgreSQL's and is the connection's, so a killed worker frees it.
    """
    listed = {}
    for source in TrailSource.objects.filter(enabled=True):
        with _listing_lock(source) as held:
            if held:
                listed[source.name] = trail_source_list(source=source)
    return listed


@contextlib.contextmanager
def _listing_lock(source: TrailSource) -> Iterator[bool]:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LISTING_LOCK_KEY, source.pk])
        held = cur.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LISTING_LOCK_KEY, source.pk])


def trail_source_list(
    *, source: TrailSource, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> ListingResult:
    """Add the source's new log files to the ledger, from its cursor (minus a look-back window,
    for files CloudTrail delivers late under an earlier stamp) or from `since`."""
    now = timezone.now()
    result = ListingResult()
    lookback = dt.timedelta(minutes=settings.PANTRY_USAGE_LIST_LOOKBACK_MINUTES)
    cursor = dict(source.cursor or {})
    accounts: set[str] = set(source.accounts_seen or [])
    newest: dt.datetime | None = source.newest_file_at
    try:
        gateway = _gateway(source)
        for account_prefix in gateway.child_prefixes(bucket=source.bucket, prefix=source.log_root):
            account = account_prefix.rstrip("/").rsplit("/", 1)[-1]
            if not (len(account) == 12 and account.isdigit()):
                continue
            accounts.add(account)
            for region_prefix in gateway.child_prefixes(bucket=source.bucket, prefix=f"{account_prefix}CloudTrail/"):
                region = region_prefix.rstrip("/").rsplit("/", 1)[-1]
                start = since
                if start is None:
                    parsed = parse_log_key(cursor.get(region_prefix, ""))
                    if parsed:
                        start = parsed[2] - lookback
                    else:
                        start = now - dt.timedelta(days=settings.PANTRY_USAGE_BACKFILL_DAYS)
                start_after = lookback_start_after(region_prefix, account, region, start)
                batch: list[tuple] = []
                for obj in gateway.objects(bucket=source.bucket, prefix=region_prefix, start_after=start_after):
                    parsed = parse_log_key(obj.key)
                    if parsed is None or parsed[0] != account or parsed[1] != region:
                        continue  # not a log file of this folder (digests live elsewhere)
                    if until is not None and parsed[2] > until:
                        break
                    result.listed += 1
                    batch.append((obj.key, obj.size, obj.etag, account, region, parsed[2]))
                    if newest is None or parsed[2] > newest:
                        newest = parsed[2]
                    if since is None and obj.key > cursor.get(region_prefix, ""):
                        cursor[region_prefix] = obj.key
                    if len(batch) >= 1000:
                        result.new_files += _ledger_add(source, batch)
                        batch = []
                result.new_files += _ledger_add(source, batch)
    except AwsError as exc:
        result.error = _source_error(exc)
        TrailSource.objects.filter(pk=source.pk).update(
            last_listed_at=now, last_error=result.error, last_error_at=now, accounts_seen=sorted(accounts)
        )
        logger.warning("listing trail source %s failed: %s", source.name, exc)
        return result
    fields = {"last_listed_at": now, "accounts_seen": sorted(accounts), "newest_file_at": newest, "last_error": ""}
    if since is None:
        fields["cursor"] = cursor
    TrailSource.objects.filter(pk=source.pk).update(**fields)
    source_lag_refresh(source=source)
    return result


def _source_error(exc: AwsError) -> str:
    phrase = error_summary(exc.code)
    if isinstance(exc, AwsAccessDenied):
        return f"S3 access denied ({exc.operation or 'S3'}): {exc.message}"[:2000]
    return f"{phrase}: {exc}"[:2000]


def _ledger_add(source: TrailSource, batch: list[tuple]) -> int:
    if not batch:
        return 0
    keys, sizes, etags, accounts, regions, stamps = zip(*batch, strict=True)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO usage_trailfile (source_id, key, size, etag, log_account_id, log_region, delivered_at,
                state, listed_at, claimed_by, attempts, events_total, events_kept, error)
            SELECT %s, k, s, e, a, r, d, 'pending', now(), '', 0, 0, 0, ''
            FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::timestamptz[])
                AS t(k, s, e, a, r, d)
            ON CONFLICT (source_id, key) DO NOTHING
            """,
            [source.pk, list(keys), list(sizes), list(etags), list(accounts), list(regions), list(stamps)],
        )
        return cur.rowcount


def source_lag_refresh(*, source: TrailSource) -> None:
    """Store the source's lag: how long its oldest file not yet ingested has waited."""
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE usage_trailsource s SET lag_seconds = coalesce((
                SELECT greatest(0, extract(epoch FROM now() - min(f.delivered_at)))::int FROM usage_trailfile f
                WHERE f.source_id = s.id AND f.state IN ('pending', 'claimed')), 0)
            WHERE s.id = %s
            """,
            [source.pk],
        )


def ingest_lag_seconds() -> float | None:
    """Seconds the oldest not-yet-ingested log file of any enabled source has waited since its
    delivery (0 when every listed file is done; None when no source is configured). For metrics."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT (SELECT count(*) FROM usage_trailsource WHERE enabled),
                   (SELECT extract(epoch FROM now() - min(f.delivered_at)) FROM usage_trailfile f
                    JOIN usage_trailsource s ON s.id = f.source_id AND s.enabled
                    WHERE f.state IN ('pending', 'claimed'))
            """
        )
        sources, lag = cur.fetchone()
    if not sources:
        return None
    return max(0.0, float(lag)) if lag is not None else 0.0


def ingest_lag() -> Iterator[tuple[dict[str, str], float]]:
    """Per enabled trail source, seconds its oldest not-yet-ingested file has waited since delivery
    (0 when all are done): the `usage` feed of /metrics' pantry_lag_seconds (PANTRY_LAG_SOURCES)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT s.account_id, s.region,
                   extract(epoch FROM now() - min(f.delivered_at) FILTER (WHERE f.state IN ('pending', 'claimed')))
            FROM usage_trailsource s LEFT JOIN usage_trailfile f ON f.source_id = s.id
            WHERE s.enabled
            GROUP BY s.id, s.account_id, s.region
            ORDER BY s.id
            """
        )
        rows = cur.fetchall()
    for account_id, region, lag in rows:
        yield {"account": account_id, "region": region}, max(0.0, float(lag)) if lag is not None else 0.0


# --------------------------------------------------------------------------- claiming


@dataclass(frozen=True)
class ClaimedFile:
    id: int
    source_id: int
    key: str
    size: int
    attempts: int


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def trail_files_claim(*, worker: str, max_files: int | None = None, max_bytes: int | None = None) -> list[ClaimedFile]:
    """Claim the oldest pending files (at least one, then up to `max_bytes` stored bytes).

    `SKIP LOCKED`: rows another worker is claiming right now are passed over, not waited for.
    """
    max_files = max_files or settings.PANTRY_USAGE_BATCH_FILES
    max_bytes = max_bytes or settings.PANTRY_USAGE_BATCH_BYTES
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
            SELECT f.id, f.size FROM usage_trailfile f
            JOIN usage_trailsource s ON s.id = f.source_id AND s.enabled
            WHERE f.state = 'pending'
            ORDER BY f.delivered_at, f.id
            LIMIT %s
            FOR UPDATE OF f SKIP LOCKED
            """,
            [max_files],
        )
        ids, total = [], 0
        for file_id, size in cur.fetchall():
            if ids and total + size > max_bytes:
                break
            ids.append(file_id)
            total += size
        if not ids:
            return []
        cur.execute(
            """
            UPDATE usage_trailfile SET state = 'claimed', claimed_by = %s, claimed_at = now(),
                heartbeat_at = now()
            WHERE id = ANY(%s)
            RETURNING id, source_id, key, size, attempts
            """,
            [worker, ids],
        )
        return sorted((ClaimedFile(*row) for row in cur.fetchall()), key=lambda f: ids.index(f.id))


def trail_claims_sweep(*, stale_seconds: int | None = None) -> int:
    """Give back files whose worker died (claimed, no heartbeat for `stale_seconds`).

    A file a worker is ingesting right now is row-locked by its transaction and skipped. A file
    that has killed its worker `PANTRY_USAGE_MAX_ATTEMPTS` times is quarantined instead.
    """
    stale = settings.PANTRY_USAGE_CLAIM_STALE_SECONDS if stale_seconds is None else stale_seconds
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
            UPDATE usage_trailfile SET
                state = CASE WHEN attempts >= %(max)s THEN 'quarantined' ELSE 'pending' END,
                error = CASE WHEN attempts >= %(max)s
                    THEN 'a worker stopped ' || attempts || ' times while ingesting this file' ELSE error END,
                claimed_by = ''
            WHERE id IN (
                SELECT id FROM usage_trailfile
                WHERE state = 'claimed' AND heartbeat_at < now() - make_interval(secs => %(stale)s)
                FOR UPDATE SKIP LOCKED)
            """,
            {"max": settings.PANTRY_USAGE_MAX_ATTEMPTS, "stale": stale},
        )
        return cur.rowcount


def _attempt_charge(files: Iterable[ClaimedFile], worker: str) -> None:
    """Count an attempt on the files a worker starts ingesting now (committed at once).

    Charged here, not when claimed: the next batch is claimed ahead while this one commits
    (`trail_files_ingest_for`), and a worker that a bad file kills again and again must not use
    up the attempts of the good files it had claimed ahead, which would then be quarantined with it.
    """
    TrailFile.objects.filter(id__in=[f.id for f in files], state=TrailFile.State.CLAIMED, claimed_by=worker).update(
        attempts=F("attempts") + 1, heartbeat_at=Now()
    )


def _release(files: Iterable[ClaimedFile], worker: str, *, error: str = "") -> None:
    ids = [f.id for f in files]
    if not ids:
        return
    TrailFile.objects.filter(id__in=ids, state=TrailFile.State.CLAIMED, claimed_by=worker).update(
        state=TrailFile.State.PENDING, claimed_by=""
    )


# --------------------------------------------------------------------------- ingesting


def ingest_context() -> IngestContext:
    covered: set[str] = set()
    own_roles = set(settings.PANTRY_USAGE_OWN_ROLE_NAMES)
    for accounts_seen, role_arn in TrailSource.objects.filter(enabled=True).values_list("accounts_seen", "role_arn"):
        covered.update(accounts_seen or [])
        own_roles.add(role_arn.rsplit("/", 1)[-1])
    own_roles.update(arn.rsplit("/", 1)[-1] for arn in AwsAccount.objects.values_list("role_arn", flat=True))
    return IngestContext(
        covered_accounts=frozenset(covered),
        own_role_names=frozenset(r for r in own_roles if r),
        own_session_names=frozenset({settings.PANTRY_ROLE_SESSION_NAME}),
        max_buffer_bytes=settings.PANTRY_USAGE_MAX_BUFFER_MB * 1024 * 1024,
    )


@dataclass
class _Outcome:
    file: ClaimedFile
    result: FileResult | None = None
    problem: str = ""
    aws_error: AwsError | None = None
    streaming: bool = False


@dataclass
class BatchResult:
    files: int = 0
    done: int = 0
    quarantined: int = 0
    released: int = 0
    events_total: int = 0
    events_kept: int = 0
    rows_inserted: int = 0


# S3 gateways kept across the batches of one run, by source and the role it reads with.
_Gateways = dict[tuple[int, str, str, str], usage_aws.TrailBucketGateway]


def trail_files_ingest(
    *, worker: str | None = None, context: IngestContext | None = None, gateways: _Gateways | None = None
) -> BatchResult:
    """Claim one batch of files and ingest it; returns what happened (files == 0: nothing to do).

    `gateways` (filled as sources are met) lets a run's batches share S3 clients and their open
    connections; without it each batch makes its own."""
    worker = worker or worker_name()
    context = context or ingest_context()
    kept = {} if gateways is None else gateways
    threads = max(1, settings.PANTRY_USAGE_DOWNLOAD_THREADS)
    with ThreadPoolExecutor(max_workers=threads) if threads > 1 else _no_pool() as pool:
        started = _claim_and_start(worker, context, kept, pool)
        if started is None:
            return BatchResult()
        with _released_on_error(worker, started):
            return _finish(started, worker, context)


def trail_files_ingest_for(*, seconds: float, worker: str | None = None) -> BatchResult:
    """Ingest batches until nothing is pending or `seconds` have passed (one task's share).

    The next batch is claimed and downloaded while the current one commits: the commit mostly
    waits for PostgreSQL, and the downloads mostly for S3."""
    deadline = time.monotonic() + seconds
    worker = worker or worker_name()
    total = BatchResult()
    context = ingest_context()
    gateways: _Gateways = {}
    threads = max(1, settings.PANTRY_USAGE_DOWNLOAD_THREADS)
    with (
        _rare_young_gc(),
        ThreadPoolExecutor(max_workers=threads) if threads > 1 else _no_pool() as pool,
    ):
        current = _claim_and_start(worker, context, gateways, pool) if time.monotonic() < deadline else None
        while current is not None:
            following = None
            with _released_on_error(worker, current):
                if time.monotonic() < deadline:
                    following = _claim_and_start(worker, context, gateways, pool)
                with _released_on_error(worker, following):
                    batch = _finish(current, worker, context)
            for name in total.__dataclass_fields__:
                setattr(total, name, getattr(total, name) + getattr(batch, name))
            current = following
    return total


@contextlib.contextmanager
def _no_pool() -> Iterator[None]:
    yield None


# Container allocations between two passes of the cyclic GC over its youngest generation while
# a worker ingests (Python's default is 700).
INGEST_GC_YOUNG_THRESHOLD = 10_000
_gc_lock = threading.Lock()
_gc_raised_by = 0  # ingestions running in this process
_gc_before: tuple[int, ...] = gc.get_threshold()


@contextlib.contextmanager
def _rare_young_gc() -> Iterator[None]:
    """Collect the cyclic GC's youngest generation less often while this process ingests.

    Every boto3 call allocates hundreds of short-lived containers and every record several, and
    reference counting frees nearly all of them (cycles are rare), so at the default threshold the
    collector ran every ~15 files and found little: 0.053 ms of GC and 1.33 ms of worker CPU per
    file, against 0.033 ms and 1.27 ms at 10,000 (medians of 3 alternated bench runs, 2026-11-27).
    Garbage in cycles is still collected, a little later. The thresholds are the process's: the
    first ingestion to start raises them and the last to end puts them back (two can overlap in a
    threaded Celery pool, and each putting back what it saw would leave them raised for good).
    """
    global _gc_raised_by, _gc_before
    with _gc_lock:
        if _gc_raised_by == 0:
            _gc_before = gc.get_threshold()
            gc.set_threshold(max(_gc_before[0], INGEST_GC_YOUNG_THRESHOLD), *_gc_before[1:])
        _gc_raised_by += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_raised_by -= 1
            if _gc_raised_by == 0:
                gc.set_threshold(*_gc_before)


@contextlib.contextmanager
def _released_on_error(worker: str, started: _Started | None) -> Iterator[None]:
    """An unexpected error (not a bad file): nothing of the batch committed; give its files back
    at once rather than after the stale-claim timeout. A killed worker cannot do this, and then
    trail_claims_sweep does it."""
    try:
        yield
    except BaseException:
        if started is not None:
            for future in started.outcomes:
                if isinstance(future, Future):
                    future.cancel()
            try:
                _release(started.claimed, worker)
            except Exception:  # noqa: BLE001 - the sweep will release them
                logger.exception("could not release claimed files")
        raise


def trail_files_ingest_request() -> int:
    """Queue ingestion tasks when files are pending (several, so that workers share them)."""
    if not TrailFile.objects.filter(state=TrailFile.State.PENDING).exists():
        return 0
    count = settings.PANTRY_USAGE_INGEST_TASKS
    for _ in range(count):
        # By name, through a signature (tasks import services; CELERY_TASK_ALWAYS_EAGER applies).
        signature("usage.tasks.trail_files_ingest").delay()
    return count


def _download_and_read(
    gateway: usage_aws.TrailBucketGateway | AwsError, source: TrailSource, file: ClaimedFile, context: IngestContext
) -> _Outcome:
    outcome = _Outcome(file)
    if isinstance(gateway, AwsError):
        outcome.aws_error = gateway
        return outcome
    try:
        chunks = gateway.object_chunks(bucket=source.bucket, key=file.key)
        outcome.result = read_log_file(chunks, context, file_id=file.id)
    except NeedsStreaming:
        outcome.streaming = True
    except FileProblem as exc:
        outcome.problem = str(exc)
    except AwsError as exc:
        outcome.aws_error = exc
    return outcome


@dataclass
class _Started:
    """A claimed batch whose files are downloading (futures) or read (outcomes)."""

    claimed: list[ClaimedFile]
    sources: dict[int, TrailSource]
    outcomes: list[Future | _Outcome]


def _claim_and_start(
    worker: str, context: IngestContext, kept: _Gateways, pool: ThreadPoolExecutor | None
) -> _Started | None:
    """Claim a batch and start reading its files on `pool` (at once, in this thread, without one)."""
    claimed = trail_files_claim(worker=worker)
    if not claimed:
        return None
    with _released_on_error(worker, _Started(claimed, {}, [])):
        sources = {s.pk: s for s in TrailSource.objects.filter(pk__in={f.source_id for f in claimed})}
        # One client per source, kept for the run's next batches: boto3 clients are thread-safe,
        # making one costs more than reading a small log file, and its connection pool stays open.
        # A source whose role failed is tried again on the next batch.
        gateways: dict[int, usage_aws.TrailBucketGateway | AwsError] = {}
        for source_id, source in sources.items():
            identity = (source_id, source.role_arn, source.external_id, source.region)
            try:
                gateways[source_id] = kept.get(identity) or kept.setdefault(identity, _gateway(source))
            except AwsError as exc:
                gateways[source_id] = exc

        def read(file: ClaimedFile) -> _Outcome:
            return _download_and_read(gateways[file.source_id], sources[file.source_id], file, context)

        if pool is None or len(claimed) == 1:
            return _Started(claimed, sources, [read(f) for f in claimed])
        return _Started(claimed, sources, [pool.submit(read, f) for f in claimed])


def _finish(started: _Started, worker: str, context: IngestContext) -> BatchResult:
    """Wait for the batch's files, then commit them (or give back those S3 would not serve)."""
    claimed, sources = started.claimed, started.sources
    _attempt_charge(claimed, worker)
    outcomes = [o.result() if isinstance(o, Future) else o for o in started.outcomes]
    result = BatchResult(files=len(claimed))
    denied = [o for o in outcomes if o.aws_error is not None]
    if denied:
        # Not the file's fault (permissions, throttling, network): back to pending, and the
        # source's health says why.
        _release([o.file for o in denied], worker)
        result.released += len(denied)
        now = timezone.now()
        for source_id in {o.file.source_id for o in denied}:
            error = next(o.aws_error for o in denied if o.file.source_id == source_id)
            TrailSource.objects.filter(pk=source_id).update(last_error=_source_error(error), last_error_at=now)
    ready = [o for o in outcomes if o.aws_error is None and not o.streaming]
    if ready:
        _commit_batch(ready, worker, result)
    for outcome in outcomes:
        if outcome.streaming:
            _ingest_streaming(sources[outcome.file.source_id], outcome.file, worker, context, result)
    return result


def _commit_batch(outcomes: list[_Outcome], worker: str, result: BatchResult) -> None:
    for attempt in range(3):
        try:
            with transaction.atomic():
                _commit(outcomes, worker, result)
            return
        except OperationalError as exc:  # deadlock or serialization failure: retry the batch
            if attempt == 2 or "deadlock" not in str(exc).lower():
                raise
            time.sleep(0.05 * (attempt + 1))


def _commit(outcomes: list[_Outcome], worker: str, result: BatchResult, *, stage_rows: bool = True) -> None:
    """Inside the caller's transaction: lock the ledger rows, stage, insert, roll up, mark done."""
    ids = [o.file.id for o in outcomes]
    with connection.cursor() as cur:
        # Asynchronous commit is safe here: a server crash can only lose whole recent
        # transactions — ledger row, events and rollups together — and their files are then
        # claimed and counted again, once. It saves a WAL flush per batch.
        cur.execute("SET LOCAL synchronous_commit TO OFF")
        # The stage is a fresh temporary table without statistics, so the planner guesses high
        # row counts and would JIT-compile the move statement: compiling costs more than running it.
        cur.execute("SET LOCAL jit TO OFF")
        cur.execute(
            "SELECT id FROM usage_trailfile WHERE id = ANY(%s) AND state = 'claimed' AND claimed_by = %s "
            "ORDER BY id FOR UPDATE",
            [ids, worker],
        )
        mine = {row[0] for row in cur.fetchall()}
        outcomes = [o for o in outcomes if o.file.id in mine]  # others were swept and re-claimed
        if not outcomes:
            return
        good = [o for o in outcomes if o.result is not None]
        if stage_rows:
            _stage_create(cur)
            _stage_rows(cur, (row for o in good for row in o.result.rows))
        if fault_hook:
            fault_hook("staged")
        inserted, unknown = _move_staged(cur)
        if fault_hook:
            fault_hook("counted")
        updates = []
        for o in outcomes:
            if o.result is not None:
                notes = [o.result.note] if o.result.note else []
                if unknown.get(o.file.id):
                    arns = sorted(unknown[o.file.id])
                    notes.append(
                        f"{len(arns)} feature group(s) not in the catalog, counted by ARN until a sync "
                        f"finds them: {', '.join(arns[:5])}{' …' if len(arns) > 5 else ''}"
                    )
                updates.append(
                    (o.file.id, "done", o.result.events_total, o.result.events_kept, "; ".join(notes), o.file.source_id)
                )
                result.done += 1
                result.events_total += o.result.events_total
                result.events_kept += o.result.events_kept
            else:
                updates.append((o.file.id, "quarantined", 0, 0, o.problem[:2000], o.file.source_id))
                result.quarantined += 1
        result.rows_inserted += inserted
        f_ids, states, totals, kepts, errors, source_ids = (list(x) for x in zip(*updates, strict=True))
        cur.execute(
            """
            UPDATE usage_trailfile f SET state = u.state, events_total = u.total, events_kept = u.kept,
                error = u.error, done_at = now(), claimed_by = '', heartbeat_at = now()
            FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[], %s::text[]) AS u(id, state, total, kept, error)
            WHERE f.id = u.id
            """,
            [f_ids, states, totals, kepts, errors],
        )
        per_source: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for _, state, total, kept, _, source_id in updates:
            counts = per_source[source_id]
            counts[0 if state == "done" else 1] += 1
            counts[2] += total
            counts[3] += kept
        for source_id in sorted(per_source):
            done, quarantined, total, kept = per_source[source_id]
            cur.execute(
                """
                UPDATE usage_trailsource SET files_done = files_done + %s, files_quarantined = files_quarantined + %s,
                    events_total = events_total + %s, events_kept = events_kept + %s,
                    last_success_at = CASE WHEN %s > 0 THEN now() ELSE last_success_at END,
                    newest_done_at = greatest(newest_done_at, (SELECT max(delivered_at) FROM usage_trailfile
                        WHERE id = ANY(%s) AND state = 'done'))
                WHERE id = %s
                """,
                [done, quarantined, total, kept, done, f_ids, source_id],
            )


_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS usage_stage (
    event_id uuid, shared_event_id uuid, event_time timestamptz, event_name text, event_source text,
    read_only boolean, outcome text, error_code text, error_message text, principal_arn text,
    principal_type text, principal_account_id text, source_ip text, owner_account_id text,
    consumer_account_id text, feature_group_arn text, region text, file_id bigint
) ON COMMIT DELETE ROWS
"""

# Staged rows → raw events (deduplicated on eventID per group, and on sharedEventID per group
# for the two copies of a cross-account call) → the new rows' daily rollups, with and without
# the principal, the (group, consumer account) pairs' daily successful calls, the principals'
# daily rollup (successful calls) and the last day of use per group, consumer account and
# operation (docs/usage.md#speed). Each derived row comes from the
# rows `ins` inserted, so a file counted twice cannot count twice in any of them. Ordered so that
# concurrent workers take row locks in the same order (no deadlocks on shared rollup rows).
_MOVE_SQL = """
WITH groups AS MATERIALIZED (
    -- The catalog groups the batch links, locked against deletion until it commits: the rows
    -- below carry their ids without a foreign-key constraint (usage.models, GROUP_LINK_NOTE).
    SELECT fg.id, fg.arn FROM catalog_featuregroup fg
    WHERE fg.arn IN (SELECT feature_group_arn FROM usage_stage WHERE feature_group_arn <> '')
    ORDER BY fg.id
    FOR KEY SHARE
), ins AS (
    INSERT INTO usage_cloudtrailevent AS e (event_id, shared_event_id, event_time, event_name, event_source,
        read_only, outcome, error_code, error_message, principal_arn, principal_type, principal_account_id,
        source_ip, owner_account_id, consumer_account_id, feature_group_id, feature_group_arn, region, file_id)
    SELECT DISTINCT ON (s.event_id, s.feature_group_arn)
        s.event_id, s.shared_event_id, s.event_time, left(s.event_name, 64), s.event_source, s.read_only,
        s.outcome, left(s.error_code, 128), s.error_message, left(s.principal_arn, 2048),
        left(s.principal_type, 32), left(s.principal_account_id, 12), left(s.source_ip, 64),
        left(s.owner_account_id, 12), left(s.consumer_account_id, 12), fg.id, left(s.feature_group_arn, 2048),
        left(s.region, 32), s.file_id
    FROM usage_stage s
    LEFT JOIN groups fg ON fg.arn = s.feature_group_arn
    ORDER BY s.event_id, s.feature_group_arn, s.file_id
    ON CONFLICT DO NOTHING
    RETURNING e.event_time, e.feature_group_id, e.feature_group_arn, e.owner_account_id, e.consumer_account_id,
        e.principal_arn, e.event_name, e.outcome, e.read_only, e.file_id
), roll AS (
    INSERT INTO usage_usagedaily AS u (day, feature_group_id, feature_group_arn, owner_account_id,
        consumer_account_id, principal_arn, operation, outcome, read_only, calls)
    SELECT (event_time AT TIME ZONE 'UTC')::date, max(feature_group_id), feature_group_arn, owner_account_id,
        consumer_account_id, principal_arn, event_name, outcome, read_only, count(*)
    FROM ins
    GROUP BY 1, 3, 4, 5, 6, 7, 8, 9
    ORDER BY 1, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT ON CONSTRAINT usagedaily_unique_dimensions DO UPDATE
        SET calls = u.calls + excluded.calls, feature_group_id = coalesce(u.feature_group_id, excluded.feature_group_id)
), total AS (
    INSERT INTO usage_usagedailytotal AS t (day, feature_group_id, feature_group_arn, owner_account_id,
        consumer_account_id, operation, outcome, read_only, calls)
    SELECT (event_time AT TIME ZONE 'UTC')::date, max(feature_group_id), feature_group_arn, owner_account_id,
        consumer_account_id, event_name, outcome, read_only, count(*)
    FROM ins
    GROUP BY 1, 3, 4, 5, 6, 7, 8
    ORDER BY 1, 3, 4, 5, 6, 7, 8
    ON CONFLICT ON CONSTRAINT usagedailytotal_unique_dimensions DO UPDATE
        SET calls = t.calls + excluded.calls, feature_group_id = coalesce(t.feature_group_id, excluded.feature_group_id)
), pair AS (
    INSERT INTO usage_usagepairdaily AS g (day, feature_group_id, feature_group_arn, owner_account_id,
        consumer_account_id, calls)
    SELECT (event_time AT TIME ZONE 'UTC')::date, max(feature_group_id), feature_group_arn, owner_account_id,
        consumer_account_id, count(*)
    FROM ins WHERE outcome = 'success'
    GROUP BY 1, 3, 4, 5
    ORDER BY 1, 3, 4, 5
    ON CONFLICT ON CONSTRAINT usagepairdaily_unique_dimensions DO UPDATE
        SET calls = g.calls + excluded.calls, feature_group_id = coalesce(g.feature_group_id, excluded.feature_group_id)
), principal AS (
    INSERT INTO usage_usageprincipaldaily AS p (day, consumer_account_id, principal_arn, calls, feature_group_arns)
    SELECT (event_time AT TIME ZONE 'UTC')::date, consumer_account_id, principal_arn, count(*),
        coalesce(array_agg(DISTINCT feature_group_arn ORDER BY feature_group_arn)
            FILTER (WHERE feature_group_arn <> ''), '{}')
    FROM ins WHERE outcome = 'success'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT usageprincipaldaily_unique_dimensions DO UPDATE
        SET calls = p.calls + excluded.calls,
            feature_group_arns = CASE WHEN p.feature_group_arns @> excluded.feature_group_arns
                THEN p.feature_group_arns
                ELSE ARRAY(SELECT DISTINCT a FROM unnest(p.feature_group_arns || excluded.feature_group_arns) a
                           ORDER BY a) END
), last_use AS (
    INSERT INTO usage_usagelastuse AS l (feature_group_arn, consumer_account_id, operation, last_day)
    SELECT feature_group_arn, consumer_account_id, event_name, max((event_time AT TIME ZONE 'UTC')::date)
    FROM ins WHERE outcome = 'success' AND feature_group_arn <> ''
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT usagelastuse_unique_dimensions DO UPDATE SET last_day = excluded.last_day
        WHERE l.last_day < excluded.last_day
)
SELECT file_id, count(*),
    array_agg(DISTINCT feature_group_arn) FILTER (WHERE feature_group_id IS NULL AND feature_group_arn <> '')
FROM ins GROUP BY file_id
"""


def _stage_create(cur) -> None:
    cur.execute(_STAGE_DDL)


def _stage_rows(cur, rows: Iterable[tuple]) -> int:
    count = 0
    with cur.cursor.copy(f"COPY usage_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _move_staged(cur) -> tuple[int, dict[int, list[str]]]:
    cur.execute(_MOVE_SQL)
    inserted, unknown = 0, {}
    for file_id, count, arns in cur.fetchall():
        inserted += count
        if arns:
            unknown[file_id] = arns
    cur.execute("TRUNCATE usage_stage")
    return inserted, unknown


def _ingest_streaming(
    source: TrailSource, file: ClaimedFile, worker: str, context: IngestContext, result: BatchResult
) -> None:
    """A file larger than a batch may hold: its own transaction, rows staged as they are parsed."""
    outcome = _Outcome(file)
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM usage_trailfile WHERE id = %s AND state = 'claimed' AND claimed_by = %s FOR UPDATE",
                [file.id, worker],
            )
            if cur.fetchone() is None:
                return
            _stage_create(cur)
            gateway = _gateway(source)
            sink = _StageSink(cur)
            try:
                outcome.result = read_log_file(
                    gateway.object_chunks(bucket=source.bucket, key=file.key), context, file_id=file.id, sink=sink
                )
            except FileProblem as exc:
                outcome.problem = str(exc)
                cur.execute("TRUNCATE usage_stage")
            _commit([outcome], worker, result, stage_rows=False)
    except AwsError as exc:
        _release([file], worker)
        result.released += 1
        TrailSource.objects.filter(pk=source.pk).update(last_error=_source_error(exc), last_error_at=timezone.now())


class _StageSink:
    """Receives rows from the streaming parser and COPYs them into the stage at once."""

    def __init__(self, cur) -> None:
        self.cur = cur

    def __call__(self, rows: list[tuple]) -> None:
        _stage_rows(self.cur, rows)


# --------------------------------------------------------------------------- replay, retention, links


@dataclass
class ReplayResult:
    requeued: int = 0
    new_files: int = 0


REPLAY_TASK = "usage.tasks.trail_files_replay"


def trail_files_replay_request(*, actor, source: TrailSource, start: dt.date, end: dt.date) -> None:
    """Record the operator's replay request and run it in a worker (listing S3 can take long)."""
    if end < start:
        raise ValueError("the range ends before it starts")
    with transaction.atomic():
        _audit_source(
            actor=actor,
            action="trail_source.replay_requested",
            source=source,
            after={"start": start.isoformat(), "end": end.isoformat()},
        )
        args = (str(source.uuid), start.isoformat(), end.isoformat())
        transaction.on_commit(lambda: signature(REPLAY_TASK, args=args).delay())


def trail_files_replay(*, actor, source: TrailSource, start: dt.date, end: dt.date) -> ReplayResult:
    """Ingest a date range (by delivery day) again: quarantined files go back to pending, files
    the listing missed are added. Done files are not re-read: they are counted already, so a
    replay counts every file of the range exactly once."""
    if end < start:
        raise ValueError("the range ends before it starts")
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC)
    with transaction.atomic():
        requeued = TrailFile.objects.filter(
            source=source,
            state=TrailFile.State.QUARANTINED,
            delivered_at__gte=since,
            delivered_at__lte=until,
        ).update(state=TrailFile.State.PENDING, attempts=0, error="", claimed_by="")
        _audit_source(
            actor=actor,
            action="trail_source.replayed",
            source=source,
            after={"start": start.isoformat(), "end": end.isoformat(), "requeued": requeued},
        )
    listing = trail_source_list(source=source, since=since, until=until)
    return ReplayResult(requeued=requeued, new_files=listing.new_files)


def raw_events_prune(*, now: dt.datetime | None = None, batch: int = 50_000) -> int:
    """Delete raw events past retention (denied calls are kept longer); rollups stay for good."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.PANTRY_USAGE_RAW_RETENTION_DAYS)
    denied_cutoff = now - dt.timedelta(days=settings.PANTRY_USAGE_DENIED_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                """
                DELETE FROM usage_cloudtrailevent WHERE id IN (
                    SELECT id FROM usage_cloudtrailevent
                    WHERE (event_time < %s AND outcome <> 'denied') OR event_time < %s
                    LIMIT %s)
                """,
                [cutoff, denied_cutoff, batch],
            )
            count = cur.rowcount
        deleted += count
        if count < batch:
            return deleted


# Tables that count by ARN and link the catalog's group when a sync has found it.
_GROUP_LINKED = (UsageDaily, UsageDailyTotal, UsagePairDaily, CloudTrailEvent)


def usage_groups_link() -> int:
    """Link events and rollups counted by ARN to catalog groups a sync found since."""
    linked = 0
    with transaction.atomic(), connection.cursor() as cur:
        for model in _GROUP_LINKED:
            # The groups linked are locked against deletion until this commits (no foreign-key
            # constraint checks these ids: usage.models, GROUP_LINK_NOTE).
            cur.execute(
                f"UPDATE {model._meta.db_table} u SET feature_group_id = fg.id FROM ("  # noqa: S608 (model metadata)
                " SELECT id, arn FROM catalog_featuregroup WHERE arn IN ("
                f"  SELECT feature_group_arn FROM {model._meta.db_table}"
                "   WHERE feature_group_id IS NULL AND feature_group_arn <> '')"
                " ORDER BY id FOR KEY SHARE) fg"
                " WHERE u.feature_group_id IS NULL AND u.feature_group_arn <> '' AND fg.arn = u.feature_group_arn"
            )
            linked += cur.rowcount
    return linked


__all__ = [
    "CloudTrailEvent",
    "ingest_lag_seconds",
    "raw_events_prune",
    "trail_claims_sweep",
    "trail_files_claim",
    "trail_files_ingest",
    "trail_files_ingest_for",
    "trail_files_ingest_request",
    "trail_files_replay",
    "trail_files_replay_request",
    "trail_source_delete",
    "trail_source_create",
    "trail_source_list",
    "trail_source_update",
    "trail_sources_list",
    "usage_groups_link",
]

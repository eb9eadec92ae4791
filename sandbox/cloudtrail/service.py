"""The sandbox's CloudTrail service: one per sandbox process, driven by the control plane.

It owns what AWS's CloudTrail keeps between deliveries: the buffer of events not yet
delivered (from the recorder and the live generator), the files held back to be delivered
late, the digest chains, and the background loop that delivers every ``interval`` seconds
(default 20: reads made after the demo starts are in S3 within half a minute).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections import Counter
from typing import Any

from . import badfiles, history
from . import records as R
from .delivery import (
    DigestChain,
    LogFile,
    MotoSink,
    Trail,
    gzip_bytes,
    load_trails,
    route,
    unique_string,
    write_log_file,
)
from .live import LiveGenerator
from .model import OrgModel

log = logging.getLogger(__name__)
DEFAULT_INTERVAL = 20.0
LATE_FILE_SHARE = 0.1  # live rounds whose last file is held back and delivered late
MAX_DIGEST_GAP = dt.timedelta(hours=48)


def utcnow() -> dt.datetime:
    """The sandbox clock (RAM's too), so moving it moves CloudTrail's deliveries with it."""
    from .. import clock

    return clock.now().astimezone(dt.UTC).replace(microsecond=0)


def parse_time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class CloudTrailService:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sink = MotoSink()
        self.thread: threading.Thread | None = None
        self.wake = threading.Event()
        self._reset_state()

    def _reset_state(self) -> None:
        self.rng = random.Random()
        self.model: OrgModel | None = None
        self.seed = 20240611
        self.live: LiveGenerator | None = None
        self.live_enabled = False
        self.interval = DEFAULT_INTERVAL
        self.buffer: list[dict[str, Any]] = []
        self.held: list[tuple[tuple[str, str, str], list[dict[str, Any]], dt.datetime]] = []
        self.chains: dict[tuple[str, str, str], DigestChain] = {}
        self.regions: set[str] = set()
        self.stats: Counter = Counter()
        self.last_round: dt.datetime | None = None
        self.last_delivery: dt.datetime | None = None
        self.last_error: str | None = None
        self.history_summary: dict[str, Any] | None = None

    def reset(self) -> None:
        with self.lock:
            self._reset_state()

    # ------------------------------------------------------------------ history

    def seed_history(
        self,
        manifest: dict[str, Any],
        *,
        days: int = 60,
        now: dt.datetime | None = None,
        seed: int = 20240611,
        digest_hours: int = 48,
    ) -> dict[str, Any]:
        now = (now or utcnow()).astimezone(dt.UTC).replace(second=0, microsecond=0)
        model = OrgModel(manifest)
        built = history.HistoryBuilder(model, now, days=days, seed=seed).build()
        with self.lock:
            trails = load_trails()
            if not trails:
                raise ValueError("no trail exists: create the trails first (sandbox.cloudtrail.trails)")
            result = history.deliver_history(
                built, now, trails=trails, sink=self.sink, seed=seed, digest_hours=digest_hours, regions=model.regions
            )
            self.model, self.seed = model, seed
            self.regions.update(model.regions)
            for stream, entry in result["chains"].items():
                self.chains[stream] = entry["chain"]
            self.last_round = now
            self._touch(trails, now)
            summary = {
                "now": now.isoformat(),
                "days": days,
                "calls": len(built.calls),
                "calls_by_kind": dict(built.counts),
                **result["stats"],
                "story": built.story,
                "trails": [t.arn for t in trails],
            }
            self.history_summary = summary
            self.stats["history_files"] += result["stats"].get("files", 0)
            return summary

    # ------------------------------------------------------------------ delivering

    def submit(self, records: list[dict[str, Any]]) -> None:
        """Queue records for the next delivery (the recorder calls this for real requests)."""
        if not records:
            return
        with self.lock:
            self.buffer.extend(records)
        self.ensure_loop()

    def deliver(
        self,
        records: list[dict[str, Any]],
        *,
        delivered_at: dt.datetime | None = None,
        hold_last: bool = False,
    ) -> list[LogFile]:
        """Write ``records`` now (one file per trail, account and region that receives them)."""
        delivered_at = (delivered_at or utcnow()).astimezone(dt.UTC)
        with self.lock:
            trails = load_trails()
            streams = route(records, trails)
            by_arn = {t.arn: t for t in trails}
            written: list[LogFile] = []
            pending = sorted(streams.items())
            if hold_last and pending:
                stream, recs = pending.pop()
                self.held.append((stream, recs, delivered_at))
                self.stats["held_files"] += 1
            for stream, recs in pending:
                written.append(self._write(by_arn[stream[0]], stream, recs, delivered_at))
            self._touch(trails, delivered_at)
            return written

    def _write(self, trail: Trail, stream: tuple[str, str, str], recs: list, at: dt.datetime) -> LogFile:
        log_file = write_log_file(self.sink, trail, stream[1], stream[2], recs, at, self.rng)
        self.stats["files"] += 1
        self.stats["records"] += len(recs)
        self.regions.add(stream[2])
        if trail.validation:
            chain = self.chains.get(stream)
            if chain is None:
                hour = at.replace(minute=0, second=0, microsecond=0)
                chain = self.chains[stream] = DigestChain(trail, stream[1], stream[2], last_end=hour)
            chain.add(log_file)
        self.last_delivery = at
        return log_file

    def flush(self, now: dt.datetime | None = None) -> list[LogFile]:
        """Deliver what is buffered and what was held back; write digests that are due."""
        now = (now or utcnow()).astimezone(dt.UTC)
        with self.lock:
            buffered, self.buffer = self.buffer, []
            held, self.held = self.held, []
            written: list[LogFile] = []
            trails = load_trails()
            by_arn = {t.arn: t for t in trails}
            # Late files keep their original (earlier) delivery stamp: they appear in S3 after
            # later files, possibly under an earlier hour's or day's prefix.
            for stream, recs, stamp in held:
                if stream[0] in by_arn:
                    written.append(self._write(by_arn[stream[0]], stream, recs, stamp))
                    self.stats["late_files"] += 1
            if buffered:
                written.extend(self.deliver(buffered, delivered_at=now))
            self.emit_digests(now, trails)
            return written

    def emit_digests(self, now: dt.datetime, trails: list[Trail] | None = None) -> int:
        trails = load_trails() if trails is None else trails
        count = 0
        with self.lock:
            for trail in trails:
                if not trail.validation or not trail.logging:
                    continue
                for account in trail.members:
                    for region in self.regions or {trail.home_region}:
                        stream = (trail.arn, account, region)
                        if stream not in self.chains and trail.covers(account, region):
                            hour = now.replace(minute=0, second=0, microsecond=0)
                            self.chains[stream] = DigestChain(trail, account, region, last_end=hour)
            live_arns = {t.arn for t in trails}
            for chain in self.chains.values():
                if chain.trail.arn not in live_arns:
                    continue
                if chain.last_end is not None and now - chain.last_end > MAX_DIGEST_GAP:
                    # Nothing ran for days (the clock jumped): like a trail that stopped logging,
                    # the chain breaks and restarts with a starting digest.
                    chain.restart(now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1))
                while chain.last_end is not None and chain.last_end + dt.timedelta(hours=1) <= now:
                    chain.emit(self.sink, chain.last_end + dt.timedelta(hours=1))
                    count += 1
            self.stats["digest_files"] += count
        return count

    def _touch(self, trails: list[Trail], when: dt.datetime) -> None:
        for trail in trails:
            status = trail.moto_trail.status if trail.moto_trail is not None else None
            if status is not None and trail.logging:
                status.latest_delivery_time = int(when.timestamp())
                status.latest_delivery_attempt = R.iso(when)
                status.sandbox_delivered = True

    # ------------------------------------------------------------------ live

    def tick(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """One live round: consumers' calls since the last round, then deliver everything."""
        now = (now or utcnow()).astimezone(dt.UTC)
        with self.lock:
            calls: list[tuple[str, R.Call]] = []
            if self.model is not None:
                if self.live is None:
                    self.live = LiveGenerator(self.model, self.seed)
                since = self.last_round or now - dt.timedelta(seconds=self.interval)
                since = max(since, now - dt.timedelta(minutes=10))
                calls = self.live.calls(since, now)
                self.last_round = now
            records = [r for _, call in calls for r in call.records(self.rng)]
            hold = bool(records) and self.rng.random() < LATE_FILE_SHARE
            files = self.flush(now)
            if records:
                files.extend(self.deliver(records, delivered_at=now, hold_last=hold))
            self.stats["live_rounds"] += 1
            self.stats["live_calls"] += len(calls)
            return {
                "calls": len(calls),
                "calls_by_kind": dict(Counter(kind for kind, _ in calls)),
                "records": len(records),
                "files": [{"bucket": f.bucket, "key": f.key, "records": f.records} for f in files],
                "held_back": hold,
            }

    def set_live(self, *, enabled: bool, interval: float | None = None, manifest: dict | None = None) -> None:
        with self.lock:
            if manifest is not None:
                self.model = OrgModel(manifest)
                self.live = None
                self.regions.update(self.model.regions)
            if interval is not None:
                if interval < 1:
                    raise ValueError("interval_seconds must be at least 1")
                self.interval = float(interval)
            if enabled and self.model is None:
                raise ValueError("the live generator needs the organisation: seed the history or pass a manifest")
            self.live_enabled = enabled
        self.ensure_loop()
        self.wake.set()

    def ensure_loop(self) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.thread = threading.Thread(target=self._loop, name="sandbox-cloudtrail", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                if self.live_enabled:
                    self.tick()
                elif self.buffer or self.held or self.chains:
                    self.flush()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 -- the loop must outlive one bad delivery
                log.exception("CloudTrail delivery failed")
                self.last_error = repr(exc)

    # ------------------------------------------------------------------ files on request

    def _trail(self, name: str | None) -> Trail:
        trails = load_trails()
        if not trails:
            raise ValueError("no trail exists")
        if name:
            for trail in trails:
                if name in (trail.name, trail.arn):
                    return trail
            raise ValueError(f"no trail named {name!r}")
        return next((t for t in trails if t.organization_id), trails[0])

    def write_records(
        self,
        records: list[dict[str, Any]],
        *,
        trail: str | None = None,
        account: str | None = None,
        region: str | None = None,
        delivered_at: dt.datetime | None = None,
        gzip_level: int = 6,
    ) -> dict[str, Any]:
        """Write exactly these records as one log file of one trail (no selector filtering)."""
        target = self._trail(trail)
        account = account or (records[0].get("recipientAccountId") if records else None) or target.account_id
        region = region or (records[0].get("awsRegion") if records else None) or target.home_region
        at = (delivered_at or utcnow()).astimezone(dt.UTC)
        with self.lock:
            log_file = write_log_file(self.sink, target, account, region, list(records), at, self.rng, level=gzip_level)
            self.stats["files"] += 1
        return {"bucket": log_file.bucket, "key": log_file.key, "records": log_file.records, "sha256": log_file.sha256}

    def write_bad_file(
        self,
        kind: str,
        *,
        trail: str | None = None,
        account: str | None = None,
        region: str | None = None,
        delivered_at: dt.datetime | None = None,
        size_mb: int = 512,
        group_arn: str | None = None,
    ) -> dict[str, Any]:
        target = self._trail(trail)
        account = account or sorted(target.members)[0]
        region = region or target.home_region
        at = (delivered_at or utcnow()).astimezone(dt.UTC)
        body, info = badfiles.build(
            kind, account=account, region=region, when=at, rng=random.Random(), size_mb=size_mb, group_arn=group_arn
        )
        key = target.log_key(account, region, at, unique_string(self.rng))
        self.sink.put(
            target.bucket, key, body, last_modified=at, content_encoding=None if kind == "not-gzip" else "gzip"
        )
        with self.lock:
            self.stats["bad_files"] += 1
        return {"bucket": target.bucket, "key": key, "size": len(body), **info}

    def deliver_calls(self, specs: list[dict[str, Any]], *, delivered_at: dt.datetime | None = None) -> dict:
        """Build calls from plain specs (see :func:`call_from_spec`) and deliver them now."""
        calls = [call_from_spec(spec) for spec in specs]
        records = [r for call in calls for r in call.records(self.rng)]
        files = self.deliver(records, delivered_at=delivered_at)
        return {
            "records": records,
            "files": [{"bucket": f.bucket, "key": f.key, "records": f.records} for f in files],
        }

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        with self.lock:
            trails = load_trails()
            return {
                "trails": [
                    {
                        "name": t.name,
                        "arn": t.arn,
                        "account_id": t.account_id,
                        "home_region": t.home_region,
                        "bucket": t.bucket,
                        "prefix": t.prefix,
                        "organization_id": t.organization_id,
                        "members": sorted(t.members),
                        "multi_region": t.multi_region,
                        "logging": t.logging,
                        "log_file_validation": t.validation,
                        "log_prefixes": sorted(
                            {t.log_prefix(a, r) for a in t.members for r in (self.regions or {t.home_region})}
                        ),
                    }
                    for t in trails
                ],
                "live": {
                    "enabled": self.live_enabled,
                    "interval_seconds": self.interval,
                    "rounds": self.stats["live_rounds"],
                    "loop_running": bool(self.thread and self.thread.is_alive()),
                },
                "buffered_records": len(self.buffer),
                "held_files": len(self.held),
                "last_delivery": self.last_delivery.isoformat() if self.last_delivery else None,
                "last_error": self.last_error,
                "stats": dict(self.stats),
                "history": self.history_summary,
                "bad_file_kinds": badfiles.KINDS,
            }


def call_from_spec(spec: dict[str, Any]) -> R.Call:
    """A call from a small JSON spec, for tests that need exact events.

    ``{"operation": "GetRecord", "caller": {"kind": "AssumedRole", "account_id": "444…",
    "name": "role", "session": "s"}, "feature_groups": ["arn:…"], "at": "2024-…Z",
    "error": ["AccessDeniedException", "…"] | "denied"}``. Data operations take
    ``feature_groups``; DescribeFeatureGroup / DescribeFeatureMetadata / UpdateFeatureMetadata
    take one ARN in ``feature_groups`` (and ``feature``); Search takes ``region``.
    """
    caller = dict(spec.get("caller") or {})
    if not caller.get("account_id") or not caller.get("name"):
        raise ValueError("each call needs a caller with account_id and name (and kind, session)")
    if "operation" not in spec:
        raise ValueError("each call needs an operation")
    principal = R.Principal(
        caller.pop("kind", "AssumedRole"),
        str(caller.pop("account_id")),
        caller.pop("name"),
        session=caller.pop("session", ""),
        path=caller.pop("path", "/"),
        issuer=caller.pop("issuer", ""),
        user_agent=caller.pop("user_agent", "Boto3/1.34.90 md/Botocore#1.34.90 Botocore/1.34.90"),
        source_ip=caller.pop("source_ip", "198.51.100.20"),
    )
    when = parse_time(spec.get("at")) or utcnow()
    operation = spec["operation"]
    groups = [R.FeatureGroupRef.from_arn(a) for a in spec.get("feature_groups") or []]
    error = spec.get("error")
    if error == "denied":
        target = groups[0].arn if groups else "*"
        error = R.access_denied(principal, f"sagemaker:{operation}", target)
    elif error is not None:
        error = (str(error[0]), str(error[1]))
    if operation in R.DATA_OPERATIONS:
        if not groups:
            raise ValueError("data operations need feature_groups")
        return R.feature_store_data_call(when, principal, operation, groups, error=error)
    if operation == "DescribeFeatureGroup":
        return R.describe_feature_group(when, principal, groups[0], error=error)
    if operation == "DescribeFeatureMetadata":
        return R.describe_feature_metadata(when, principal, groups[0], spec.get("feature", "event_time"), error=error)
    if operation == "UpdateFeatureMetadata":
        return R.update_feature_metadata(
            when,
            principal,
            groups[0],
            spec.get("feature", "event_time"),
            description=spec.get("description"),
            error=error,
        )
    if operation == "Search":
        return R.search(
            when,
            principal,
            spec.get("region", "eu-west-1"),
            spec.get("resource", "FeatureGroup"),
            cross_account=bool(spec.get("cross_account")),
            error=error,
        )
    raise ValueError(f"unsupported operation {operation!r}")


SERVICE = CloudTrailService()

__all__ = ["SERVICE", "CloudTrailService", "call_from_spec", "gzip_bytes"]

"""Catalog writes: requesting, running and sweeping syncs.

The sync is incremental and idempotent. A full listing costs
⌈groups/100⌉ Search calls plus ⌈features/100⌉ FeatureMetadata Search calls;
a re-sync with nothing changed costs ⌈groups/100⌉ + 1 calls and writes no
catalog rows. Groups are listed in a stable order (CreationTime ascending),
and a group missing from a complete listing is marked deleted only when
DescribeFeatureGroup answers ResourceNotFound; a partial or failed listing
never deletes anything. Each run holds the per-account-and-region lock (a
partial unique index on running SyncRuns) and proves it is alive with a
heartbeat on every page; a run whose heartbeat is older than
PANTRY_SYNC_STALE_SECONDS is abandoned (by the next request, or by the beat
sweep) and its lock freed. One account's failure touches only its own rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import signature
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.gateways.featurestore import (
    FeatureDefinition,
    FeatureGroupRecord,
    FeatureMetadataRecord,
    FeatureStoreGateway,
)
from catalog.models import AwsAccount, Feature, FeatureGroup, SyncRun, SyncState
from catalog.services import lineage as lineage_services
from portal import aws

logger = logging.getLogger(__name__)

GROUP_FIELDS = [
    "account",
    "region",
    "name",
    "description",
    "record_identifier_feature",
    "event_time_feature",
    "online_store_enabled",
    "online_store_config",
    "offline_store_enabled",
    "offline_s3_uri",
    "glue_database",
    "glue_table",
    "table_format",
    "status",
    "offline_store_status",
    "role_arn",
    "tags",
    "aws_created_at",
    "aws_modified_at",
    "digest",
    "feature_count",
    "synced_at",
    "deleted_at",
]
FEATURE_DEFINITION_FIELDS = ["position", "type", "collection_type", "collection_config"]
FEATURE_METADATA_FIELDS = ["description", "parameters", "aws_created_at", "aws_modified_at"]
BATCH_SIZE = 500


# ---------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------


def account_role(account: AwsAccount) -> aws.AccountRole:
    return aws.AccountRole(account_id=account.account_id, role_arn=account.role_arn, external_id=account.external_id)


# ---------------------------------------------------------------------------
# Requesting syncs
# ---------------------------------------------------------------------------


def sync_request(
    *, account: AwsAccount, region: str | None = None, trigger: str = SyncRun.Trigger.MANUAL, requested_by=None
) -> list[SyncRun]:
    """Queue a sync of one account (every region, or one) and enqueue its task on commit.

    A region that already has a queued or running sync gets no second one:
    the existing run is returned instead, so a double-clicked button or a
    beat tick during a long sync does not pile up work.
    """
    regions = [region] if region else list(account.regions)
    runs: list[SyncRun] = []
    with transaction.atomic():
        # Lock the account row so two requests for it serialise here.
        AwsAccount.objects.select_for_update().get(pk=account.pk)
        _stale_runs_abandon(runs=SyncRun.objects.filter(account=account))
        for reg in regions:
            active = SyncRun.objects.filter(
                account=account, region=reg, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
            ).first()
            if active:
                runs.append(active)
                continue
            run = SyncRun.objects.create(account=account, region=reg, trigger=trigger, requested_by=requested_by)
            runs.append(run)
            transaction.on_commit(lambda run_uuid=str(run.uuid): _enqueue(SYNC_RUN_TASK, run_uuid))
    return runs


# The task that runs a queued sync, by its registered name. Services name the
# task instead of importing catalog.tasks, so imports go one way only (tasks →
# services): the broker message is addressed by this name anyway.
SYNC_RUN_TASK = "catalog.tasks.sync_run_execute"


def _enqueue(task_name: str, *args: str) -> None:
    # A signature runs through the registered task when this process has it
    # (so CELERY_TASK_ALWAYS_EAGER still applies) and send_task otherwise.
    signature(task_name, args=args).delay()


def sync_due_accounts_request(*, now: datetime | None = None) -> list[SyncRun]:
    """Queue a scheduled sync for every enabled account/region whose interval has passed."""
    now = now or timezone.now()
    queued: list[SyncRun] = []
    for account in AwsAccount.objects.filter(sync_enabled=True).exclude(kind=AwsAccount.Kind.CONSUMER):
        for region in account.regions:
            last = SyncRun.objects.filter(account=account, region=region).order_by("-queued_at").first()
            due = last is None or last.queued_at <= now - timezone.timedelta(minutes=account.sync_interval_minutes)
            if due:
                queued.extend(sync_request(account=account, region=region, trigger=SyncRun.Trigger.SCHEDULE))
    return queued


def sync_runs_sweep(*, now: datetime | None = None) -> int:
    """Abandon every run whose worker is gone (beat calls this every minute); returns how many.

    A worker killed mid-sync (SIGKILL, OOM, a lost machine) leaves its run
    `running` and the account locked: Celery acknowledges a task whose worker
    died, so nothing would re-run or finish it.
    """
    return _stale_runs_abandon(runs=SyncRun.objects.all(), now=now)


def sync_stale_after() -> timedelta:
    """How long a running sync may go without a heartbeat before it counts as dead."""
    return timedelta(seconds=settings.PANTRY_SYNC_STALE_SECONDS)


def _stale_runs_abandon(*, runs: QuerySet[SyncRun], now: datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - sync_stale_after()
    queued_cutoff = now - timedelta(seconds=settings.PANTRY_SYNC_QUEUED_TIMEOUT_SECONDS)
    stale_running = Q(status=SyncRun.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    lost_queued = Q(status=SyncRun.Status.QUEUED, queued_at__lt=queued_cutoff)
    swept = 0
    with transaction.atomic():
        # SKIP LOCKED: a run being started or finished right now is not stale.
        for run in (
            runs.filter(stale_running | lost_queued).select_for_update(skip_locked=True).select_related("account")
        ):
            if run.status == SyncRun.Status.RUNNING:
                message = (
                    f"No heartbeat for over {settings.PANTRY_SYNC_STALE_SECONDS} s: the worker running this sync "
                    "stopped (killed, crashed or lost). The run was abandoned and its lock released."
                )
            else:
                message = (
                    f"No worker started this sync within {settings.PANTRY_SYNC_QUEUED_TIMEOUT_SECONDS} s of it "
                    "being queued (its task was lost, or the queue is backed up); it was abandoned."
                )
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.ABANDONED, finished_at=now, error_code="", error_message=message
            )
            state, _ = SyncState.objects.get_or_create(account=run.account, region=run.region)
            state.last_run, state.last_failure_at, state.last_error = run, now, message
            state.save(update_fields=["last_run", "last_failure_at", "last_error"])
            logger.warning("sync %s of %s/%s abandoned: %s", run.uuid, run.account.account_id, run.region, message)
            swept += 1
    return swept


# ---------------------------------------------------------------------------
# Running a sync
# ---------------------------------------------------------------------------


def sync_run_execute(*, run_uuid: str) -> SyncRun:
    """Run one queued sync. Running it again for the same run does nothing."""
    run = _sync_run_start(run_uuid=run_uuid)
    if run.status != SyncRun.Status.RUNNING:
        return run
    account = run.account
    counter = aws.CallCounter()
    try:
        session = aws.account_session(account_role(account), run.region, counter=counter)
        gateway = FeatureStoreGateway(session)
        syncer = _AccountRegionSync(account=account, region=run.region, run=run, gateway=gateway)
        syncer.run()
        if _lineage_due(syncer):
            _lineage_refresh(
                run=run, account=account, session=session, heartbeat=lambda: syncer.heartbeat(min_interval=1.0)
            )
    except _RunAbandoned:
        # Swept while this worker was alive but silent for too long: another
        # sync may hold the lock now, so stop here and leave the run as swept.
        logger.warning(
            "sync %s of %s/%s was abandoned while running; stopping", run.uuid, account.account_id, run.region
        )
        run.refresh_from_db()
        return run
    except aws.AwsError as exc:
        logger.warning("sync %s of %s/%s failed: %s", run.uuid, account.account_id, run.region, exc)
        return _sync_run_finish(run, counter=counter, error=exc)
    except Exception as exc:
        logger.exception("sync %s of %s/%s crashed", run.uuid, account.account_id, run.region)
        _sync_run_finish(run, counter=counter, error=aws.AwsError(str(exc), code=type(exc).__name__))
        raise
    return _sync_run_finish(run, counter=counter, error=None)


def _lineage_due(syncer: _AccountRegionSync) -> bool:
    counts = syncer.counts
    if counts.created or counts.updated or counts.deleted:
        return True
    last = syncer.state.lineage_synced_at
    return last is None or last <= timezone.now() - timedelta(minutes=settings.PANTRY_LINEAGE_REFRESH_MINUTES)


def _lineage_refresh(
    *, run: SyncRun, account: AwsAccount, session: aws.AccountSession, heartbeat: Callable[[], None]
) -> None:
    """Mirror SageMaker lineage with the run's session; an AWS error fails the run.

    The catalog rows written before stay (they are correct); the lineage
    service writes nothing unless every read succeeded.
    """
    counts = lineage_services.lineage_sync(account=account, region=run.region, session=session, progress=heartbeat)
    SyncRun.objects.filter(pk=run.pk).update(lineage_refreshed=True, lineage_edges=counts.get("edges", 0))
    SyncState.objects.filter(account=account, region=run.region).update(lineage_synced_at=timezone.now())


def _sync_run_start(*, run_uuid: str) -> SyncRun:
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("account").get(uuid=run_uuid)
        if run.status != SyncRun.Status.QUEUED:
            return run  # already ran (a redelivered or duplicated task), or was swept
        _stale_runs_abandon(runs=SyncRun.objects.filter(account=run.account))
        now = timezone.now()
        try:
            with transaction.atomic():
                SyncRun.objects.filter(pk=run.pk).update(
                    status=SyncRun.Status.RUNNING, started_at=now, heartbeat_at=now
                )
        except IntegrityError:
            # Another run of this account and region holds the lock.
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.SKIPPED,
                finished_at=now,
                error_message="Another sync of this account and region was running.",
            )
        run.refresh_from_db()
        return run


def _sync_run_finish(run: SyncRun, *, counter: aws.CallCounter, error: aws.AwsError | None) -> SyncRun:
    now = timezone.now()
    run.refresh_from_db(
        fields=[
            "groups_seen",
            "groups_created",
            "groups_updated",
            "groups_deleted",
            "features_written",
            "complete_listing",
            "lineage_refreshed",
            "lineage_edges",
        ]
    )
    run.finished_at = now
    run.heartbeat_at = now
    run.api_calls = counter.as_dict()
    if error is None:
        run.status = SyncRun.Status.SUCCEEDED
    else:
        run.status = SyncRun.Status.FAILED
        run.error_code = error.code[:100]
        run.error_message = str(error)
    finished = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
        finished_at=run.finished_at,
        heartbeat_at=run.heartbeat_at,
        api_calls=run.api_calls,
        status=run.status,
        error_code=run.error_code,
        error_message=run.error_message,
    )
    if not finished:  # swept meanwhile: the sweep's verdict stands
        run.refresh_from_db()
        return run
    state, _ = SyncState.objects.get_or_create(account=run.account, region=run.region)
    state.last_run = run
    if error is None:
        state.last_success_at = now
    else:
        state.last_failure_at = now
        state.last_error = run.error_message
    state.save(update_fields=["last_run", "last_success_at", "last_failure_at", "last_error"])
    return run


class _RunAbandoned(Exception):
    """The run's row is no longer `running`: the sweep judged this worker dead."""


@dataclass
class _Counts:
    seen: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    features: int = 0


class _AccountRegionSync:
    """The steps of one sync, kept together so each stays short."""

    def __init__(self, *, account: AwsAccount, region: str, run: SyncRun, gateway: FeatureStoreGateway) -> None:
        self.account = account
        self.region = region
        self.run_row = run
        self.gateway = gateway
        self.counts = _Counts()
        self.state, _ = SyncState.objects.get_or_create(account=account, region=region)
        self._last_beat = 0.0

    def run(self) -> None:
        # Taken before the first read: the metadata watermark stays below it.
        started = timezone.now()
        existing = {
            g.arn: g
            for g in FeatureGroup.objects.filter(account=self.account, region=self.region).only(
                "id", "arn", "digest", "deleted_at"
            )
        }
        seen_arns: set[str] = set()
        pending: list[FeatureGroupRecord] = []
        for page in self.gateway.feature_group_pages():
            pending.extend(page)
            seen_arns.update(r.arn for r in page)
            self.counts.seen += len(page)
            if len(pending) >= BATCH_SIZE:
                self._upsert_groups([self._complete(r) for r in pending], existing)
                pending = []
            self.heartbeat()
        if pending:
            self._upsert_groups([self._complete(r) for r in pending], existing)
        SyncRun.objects.filter(pk=self.run_row.pk).update(complete_listing=True)
        self._confirm_missing(existing, seen_arns)
        self._apply_feature_metadata(started=started)
        self.heartbeat()

    # -- groups ------------------------------------------------------------

    def _complete(self, record: FeatureGroupRecord) -> FeatureGroupRecord:
        """Fill in what the Search record lacks with Describe / ListTags calls."""
        if record.features is None or not record.record_identifier_feature:
            described = self.gateway.describe_feature_group(record.arn)
            record = FeatureGroupRecord(**{**described.__dict__, "tags": record.tags})
        if record.tags is None:
            record = FeatureGroupRecord(**{**record.__dict__, "tags": self.gateway.list_tags(record.arn)})
        return record

    def _upsert_groups(self, records: list[FeatureGroupRecord], existing: dict[str, FeatureGroup]) -> None:
        now = timezone.now()
        changed: list[tuple[FeatureGroupRecord, str]] = []
        for record in records:
            digest = _group_digest(record)
            current = existing.get(record.arn)
            if current and current.digest == digest and current.deleted_at is None:
                continue
            changed.append((record, digest))
        if not changed:
            return
        rows = [
            FeatureGroup(
                account=self.account,
                region=self.region,
                arn=record.arn,
                name=record.name,
                description=record.description,
                record_identifier_feature=record.record_identifier_feature,
                event_time_feature=record.event_time_feature,
                online_store_enabled=record.online_store_enabled,
                online_store_config=record.online_store_config,
                offline_store_enabled=record.offline_store_enabled,
                offline_s3_uri=record.offline_s3_uri,
                glue_database=record.glue_database,
                glue_table=record.glue_table,
                table_format=record.table_format,
                status=record.status,
                offline_store_status=record.offline_store_status,
                role_arn=record.role_arn,
                tags=record.tags or {},
                aws_created_at=record.created_at,
                aws_modified_at=record.modified_at,
                digest=digest,
                feature_count=len(record.features or ()),
                synced_at=now,
                first_seen_at=now,
                deleted_at=None,
            )
            for record, digest in changed
        ]
        with transaction.atomic():
            saved = FeatureGroup.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["arn"], update_fields=GROUP_FIELDS
            )
            by_arn = {g.arn: g for g in saved}
            definitions: dict[int, list[FeatureDefinition]] = {}
            for record, _ in changed:
                if record.arn in existing:
                    self.counts.updated += 1
                else:
                    self.counts.created += 1
                group = by_arn[record.arn]
                existing[record.arn] = group
                definitions[group.pk] = list(record.features or ())
            self._write_feature_definitions(definitions)
            self._save_counts()

    def _write_feature_definitions(self, definitions: dict[int, list[FeatureDefinition]]) -> None:
        """Make each group's features match its definitions, for a whole batch of groups at once."""
        group_ids = list(definitions)
        current = {
            (row["feature_group_id"], row["name"]): row
            for row in Feature.objects.filter(feature_group_id__in=group_ids).values(
                "feature_group_id", "name", *FEATURE_DEFINITION_FIELDS
            )
        }
        to_write: list[Feature] = []
        keep_groups: list[int] = []
        keep_names: list[str] = []
        for group_id, defs in definitions.items():
            for position, d in enumerate(defs):
                keep_groups.append(group_id)
                keep_names.append(d.name)
                old = current.get((group_id, d.name))
                new = {
                    "position": position,
                    "type": d.type,
                    "collection_type": d.collection_type,
                    "collection_config": d.collection_config,
                }
                if old and all(old[k] == v for k, v in new.items()):
                    continue
                to_write.append(Feature(feature_group_id=group_id, name=d.name, **new))
        if to_write:
            Feature.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["feature_group", "name"],
                update_fields=FEATURE_DEFINITION_FIELDS,
                batch_size=2000,
            )
            self.counts.features += len(to_write)
        removed = 0
        if set(current) - set(zip(keep_groups, keep_names, strict=True)):
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    DELETE FROM catalog_feature
                     WHERE feature_group_id = ANY(%s)
                       AND (feature_group_id, name) NOT IN (SELECT * FROM unnest(%s::bigint[], %s::text[]))
                    """,
                    [group_ids, keep_groups, keep_names],
                )
                removed = cursor.rowcount
            self.counts.features += removed
        if to_write or removed:
            feature_words_refresh_many(group_ids=group_ids)

    def _confirm_missing(self, existing: dict[str, FeatureGroup], seen_arns: set[str]) -> None:
        """Mark deleted only the live groups the listing missed *and* AWS no longer has.

        A complete listing can still miss a live group: Search's page token
        continues after the last result's sort key, and however AWS orders or
        pages, an edit, deletion or index delay elsewhere can shift a group past
        it. So absence only raises the question; DescribeFeatureGroup answers
        it (ResourceNotFound: gone). This costs a call per missing group, none
        when nothing is missing.
        """
        missing = [g for arn, g in existing.items() if arn not in seen_arns and g.deleted_at is None]
        gone: list[int] = []
        alive: list[FeatureGroupRecord] = []
        for group in missing:
            try:
                described = self.gateway.describe_feature_group(group.arn)
            except aws.AwsNotFound:
                gone.append(group.pk)
                continue
            finally:
                self.heartbeat()
            logger.info("feature group %s was missing from the listing but exists; kept", group.arn)
            alive.append(FeatureGroupRecord(**{**described.__dict__, "tags": self.gateway.list_tags(group.arn)}))
        if alive:
            self._upsert_groups(alive, existing)
        if gone:
            # Clear the digest so a group that comes back is written again.
            FeatureGroup.objects.filter(pk__in=gone).update(deleted_at=timezone.now(), digest="")
            self.counts.deleted += len(gone)
            self._save_counts()

    # -- feature metadata ----------------------------------------------------

    def _apply_feature_metadata(self, *, started: datetime) -> None:
        """Apply feature metadata changed since the watermark, and move the watermark safely.

        Search indexes edits after a delay, so an edit made shortly before this
        run may not be searchable yet; and a record skipped here (its group or
        feature is not in the catalog yet) must come back next time. So the new
        watermark is the run's start minus PANTRY_SYNC_METADATA_OVERLAP_SECONDS,
        and never later than the earliest skipped record: the next sync re-reads
        from there (re-reading costs a call per 100 records and writes nothing
        that did not change).
        """
        watermark = self.state.features_modified_watermark
        next_watermark = started - timedelta(seconds=settings.PANTRY_SYNC_METADATA_OVERLAP_SECONDS)
        groups: dict[str, FeatureGroup] = {}
        tombstoned: set[str] = set()
        for group in FeatureGroup.objects.filter(account=self.account, region=self.region).only(
            "id", "arn", "deleted_at"
        ):
            if group.deleted_at is None:
                groups[group.arn] = group
            else:
                tombstoned.add(group.arn)
        touched_groups: set[int] = set()
        skipped: list[FeatureMetadataRecord] = []
        pending: list[FeatureMetadataRecord] = []

        def apply(records: list[FeatureMetadataRecord]) -> None:
            by_group: dict[int, list[FeatureMetadataRecord]] = {}
            for record in records:
                group = groups.get(record.group_arn)
                if group is not None:
                    by_group.setdefault(group.pk, []).append(record)
                elif record.group_arn not in tombstoned:
                    skipped.append(record)  # a group created after the listing
            touched, not_defined = self._write_feature_metadata(by_group)
            touched_groups.update(touched)
            skipped.extend(not_defined)

        for page in self.gateway.feature_metadata_pages(modified_since=watermark):
            pending.extend(page)
            if len(pending) >= BATCH_SIZE:
                apply(pending)
                pending = []
            self.heartbeat()
        apply(pending)
        if skipped:
            times = [r.modified_at for r in skipped]
            earliest = min(times) if all(times) else watermark
            logger.info(
                "sync of %s/%s skipped %d feature metadata records not in the catalog yet; the next sync re-reads "
                "from %s",
                self.account.account_id,
                self.region,
                len(skipped),
                earliest,
            )
            if earliest is None:
                next_watermark = None
            else:
                next_watermark = min(next_watermark, earliest)
        with transaction.atomic():
            if touched_groups:
                feature_words_refresh_many(group_ids=sorted(touched_groups))
            if next_watermark != watermark:
                self.state.features_modified_watermark = next_watermark
                self.state.save(update_fields=["features_modified_watermark"])
            self._save_counts()

    def _write_feature_metadata(
        self, by_group: dict[int, list[FeatureMetadataRecord]]
    ) -> tuple[set[int], list[FeatureMetadataRecord]]:
        """Write what changed; returns the groups whose words changed and the records of features
        the catalog does not have yet (not in the group's definitions when it was listed)."""
        if not by_group:
            return set(), []
        current = {
            (f.feature_group_id, f.name): f
            for f in Feature.objects.filter(feature_group_id__in=by_group.keys()).only(
                "id", "feature_group_id", "name", *FEATURE_METADATA_FIELDS
            )
        }
        changed: list[Feature] = []
        touched: set[int] = set()
        not_defined: list[FeatureMetadataRecord] = []
        for group_id, records in by_group.items():
            for record in records:
                feature = current.get((group_id, record.name))
                if feature is None:
                    not_defined.append(record)  # the watermark stays below it: next sync applies it
                    continue
                new = (record.description, record.parameters, record.created_at, record.modified_at)
                old = (feature.description, feature.parameters, feature.aws_created_at, feature.aws_modified_at)
                if new == old:
                    continue
                words_changed = feature.description != record.description
                feature.description, feature.parameters, feature.aws_created_at, feature.aws_modified_at = new
                changed.append(feature)
                if words_changed:
                    touched.add(group_id)
        if changed:
            _features_metadata_update(changed)
            self.counts.features += len(changed)
        return touched, not_defined

    # -- bookkeeping -----------------------------------------------------------

    def heartbeat(self, *, min_interval: float = 0.0) -> None:
        """Prove the run is alive (and show its progress); raise if it was swept meanwhile.

        Called on every page and every single-item call, so the longest gap
        between two heartbeats is one AWS call (with its retries) or one batch
        write; PANTRY_SYNC_STALE_SECONDS is chosen well above both.
        """
        now = time.monotonic()
        if min_interval and now - self._last_beat < min_interval:
            return
        self._last_beat = now
        alive = SyncRun.objects.filter(pk=self.run_row.pk, status=SyncRun.Status.RUNNING).update(
            heartbeat_at=timezone.now(),
            groups_seen=self.counts.seen,
            groups_created=self.counts.created,
            groups_updated=self.counts.updated,
            groups_deleted=self.counts.deleted,
            features_written=self.counts.features,
            api_calls=self.gateway.counter.as_dict(),
        )
        if not alive:
            raise _RunAbandoned

    def _save_counts(self) -> None:
        SyncRun.objects.filter(pk=self.run_row.pk).update(
            groups_seen=self.counts.seen,
            groups_created=self.counts.created,
            groups_updated=self.counts.updated,
            groups_deleted=self.counts.deleted,
            features_written=self.counts.features,
            api_calls=self.gateway.counter.as_dict(),
        )


def _features_metadata_update(features: list[Feature]) -> None:
    """Write description, parameters and timestamps of many features in one statement.

    `bulk_update` builds a CASE expression per row and field, which costs
    seconds per thousand rows in Python; an UPDATE … FROM unnest(…) is one
    round trip and stays linear.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE catalog_feature AS f
               SET description = v.description,
                   parameters = v.parameters,
                   aws_created_at = v.created,
                   aws_modified_at = v.modified
              FROM unnest(%s::bigint[], %s::text[], %s::jsonb[], %s::timestamptz[], %s::timestamptz[])
                   AS v(id, description, parameters, created, modified)
             WHERE f.id = v.id
            """,
            [
                [f.pk for f in features],
                [f.description for f in features],
                [json.dumps(f.parameters) for f in features],
                [f.aws_created_at for f in features],
                [f.aws_modified_at for f in features],
            ],
        )


def feature_words_refresh(*, group: FeatureGroup) -> None:
    """Recompute the words the group's search vector takes from its features."""
    feature_words_refresh_many(group_ids=[group.pk])


def feature_words_refresh_many(*, group_ids: list[int]) -> None:
    """`feature_words` and `feature_count` for many groups in one statement.

    The words are each feature's name, the name with underscores as spaces
    (so `customer_age` also matches "customer age"), and its descriptions.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE catalog_featuregroup AS g
               SET feature_words = coalesce(w.words, ''), feature_count = coalesce(w.n, 0)
              FROM unnest(%s::bigint[]) AS ids(id)
              LEFT JOIN (
                    SELECT feature_group_id,
                           string_agg(concat_ws(' ', name, replace(name, '_', ' '),
                                                nullif(description, ''), nullif(pantry_description, '')),
                                      ' ' ORDER BY position, name) AS words,
                           count(*) AS n
                      FROM catalog_feature
                     WHERE feature_group_id = ANY(%s)
                     GROUP BY feature_group_id
                   ) AS w ON w.feature_group_id = ids.id
             WHERE g.id = ids.id
            """,
            [group_ids, group_ids],
        )


def _group_digest(record: FeatureGroupRecord) -> str:
    payload = {k: v for k, v in record.__dict__.items() if k not in ("created_at", "modified_at")}
    payload["features"] = [d.__dict__ for d in record.features or ()]
    payload["modified_at"] = record.modified_at.isoformat() if record.modified_at else None
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

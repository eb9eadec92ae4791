"""Catalog writes: registering accounts, requesting and running syncs.

The sync is incremental and idempotent. A full listing costs
⌈groups/100⌉ Search calls plus ⌈features/100⌉ FeatureMetadata Search calls;
a re-sync with nothing changed costs ⌈groups/100⌉ + 1 calls and writes no
catalog rows. A group missing from a *complete* listing is marked deleted;
a partial or failed listing never deletes anything. Each run holds the
per-account-and-region lock (a partial unique index on running SyncRuns), so
two syncs of the same account never interleave, and one account's failure
touches only its own rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from celery import signature
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
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
        _abandon_stale_runs(account=account)
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


def _abandon_stale_runs(*, account: AwsAccount) -> None:
    cutoff = timezone.now() - SyncRun.STALE_AFTER
    SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    ).update(
        status=SyncRun.Status.ABANDONED,
        finished_at=timezone.now(),
        error_message="The worker stopped sending heartbeats; the run was abandoned and its lock released.",
    )


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
            _lineage_refresh(run=run, account=account, session=session)
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


def _lineage_refresh(*, run: SyncRun, account: AwsAccount, session: aws.AccountSession) -> None:
    """Mirror SageMaker lineage with the run's session; an AWS error fails the run.

    The catalog rows written before stay (they are correct); the lineage
    service writes nothing unless every read succeeded.
    """
    counts = lineage_services.lineage_sync(account=account, region=run.region, session=session)
    SyncRun.objects.filter(pk=run.pk).update(lineage_refreshed=True, lineage_edges=counts.get("edges", 0))
    SyncState.objects.filter(account=account, region=run.region).update(lineage_synced_at=timezone.now())


def _sync_run_start(*, run_uuid: str) -> SyncRun:
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("account").get(uuid=run_uuid)
        if run.status != SyncRun.Status.QUEUED:
            return run  # already ran (a redelivered or duplicated task)
        _abandon_stale_runs(account=run.account)
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
    run.save(
        update_fields=[
            "finished_at",
            "heartbeat_at",
            "api_calls",
            "status",
            "error_code",
            "error_message",
        ]
    )
    state, _ = SyncState.objects.get_or_create(account=run.account, region=run.region)
    state.last_run = run
    if error is None:
        state.last_success_at = now
    else:
        state.last_failure_at = now
        state.last_error = run.error_message
    state.save(update_fields=["last_run", "last_success_at", "last_failure_at", "last_error"])
    return run


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

    def run(self) -> None:
        existing = {
            g.arn: g
            for g in FeatureGroup.objects.filter(account=self.account, region=self.region).only(
                "id", "arn", "digest", "deleted_at"
            )
        }
        seen_arns: set[str] = set()
        for batch in _batched(_flat(self.gateway.feature_group_pages()), BATCH_SIZE):
            records = [self._complete(record) for record in batch]
            seen_arns.update(r.arn for r in records)
            self.counts.seen += len(records)
            self._upsert_groups(records, existing)
            self._heartbeat()
        # The listing above finished without an error, so it is complete: what
        # it did not return is gone from AWS.
        SyncRun.objects.filter(pk=self.run_row.pk).update(complete_listing=True)
        self._mark_deleted(existing, seen_arns)
        self._apply_feature_metadata()
        self._heartbeat()

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

    def _mark_deleted(self, existing: dict[str, FeatureGroup], seen_arns: set[str]) -> None:
        gone = [g.pk for arn, g in existing.items() if arn not in seen_arns and g.deleted_at is None]
        if gone:
            now = timezone.now()
            # Clear the digest so a group that comes back is written again.
            FeatureGroup.objects.filter(pk__in=gone).update(deleted_at=now, digest="")
            self.counts.deleted += len(gone)
            self._save_counts()

    # -- feature metadata ----------------------------------------------------

    def _apply_feature_metadata(self) -> None:
        watermark = self.state.features_modified_watermark
        newest = watermark
        groups = {
            g.arn: g
            for g in FeatureGroup.objects.filter(
                account=self.account, region=self.region, deleted_at__isnull=True
            ).only("id", "arn")
        }
        touched_groups: set[int] = set()
        for batch in _batched(_flat(self.gateway.feature_metadata_pages(modified_since=watermark)), BATCH_SIZE):
            by_group: dict[int, list[FeatureMetadataRecord]] = {}
            for record in batch:
                group = groups.get(record.group_arn)
                if group is None:
                    continue  # a group deleted (or created) between the two listings
                by_group.setdefault(group.pk, []).append(record)
                if record.modified_at and (newest is None or record.modified_at > newest):
                    newest = record.modified_at
            touched_groups |= self._write_feature_metadata(by_group)
            self._heartbeat()
        with transaction.atomic():
            if touched_groups:
                feature_words_refresh_many(group_ids=sorted(touched_groups))
            if newest != watermark:
                self.state.features_modified_watermark = newest
                self.state.save(update_fields=["features_modified_watermark"])
            self._save_counts()

    def _write_feature_metadata(self, by_group: dict[int, list[FeatureMetadataRecord]]) -> set[int]:
        if not by_group:
            return set()
        current = {
            (f.feature_group_id, f.name): f
            for f in Feature.objects.filter(feature_group_id__in=by_group.keys()).only(
                "id", "feature_group_id", "name", *FEATURE_METADATA_FIELDS
            )
        }
        changed: list[Feature] = []
        touched: set[int] = set()
        for group_id, records in by_group.items():
            for record in records:
                feature = current.get((group_id, record.name))
                if feature is None:
                    continue  # not in the group's definitions (yet): next sync picks it up
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
        return touched

    # -- bookkeeping -----------------------------------------------------------

    def _heartbeat(self) -> None:
        SyncRun.objects.filter(pk=self.run_row.pk).update(heartbeat_at=timezone.now())
        self._save_counts()

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


def _flat(pages: Iterable[list]) -> Iterator:
    for page in pages:
        yield from page


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch

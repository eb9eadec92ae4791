"""Usage: CloudTrail trail sources, the file ledger, raw events and daily rollups.

Dashboards read `UsageDaily` (kept for good); `CloudTrailEvent` holds the raw events counted in
it for a retention window only (docs/usage.md). Operation classes: `usage.operations`.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import NoReverseMatch, reverse

from catalog.models import FeatureGroup
from usage.operations import (  # noqa: F401 - re-exported for the dashboards
    READ_OPERATIONS,
    SHARING_OPERATIONS,
    WRITE_OPERATIONS,
    operation_kind,
)

# GROUP_LINK_NOTE: the `feature_group` columns of the raw events and the three rollups that count by
# ARN carry no foreign-key constraint. A constraint checked every inserted row at commit (a query
# and a row lock on the group per row: ~10% of PostgreSQL's time in an ingestion batch) to guard
# against a group deleted while a batch is in flight, which the ingestion now guards against
# itself: its statement takes a `FOR KEY SHARE` lock on each group it links, once per batch, so a
# delete waits for the batch to commit. What the constraint's ON DELETE SET NULL did, the trigger
# `usage_feature_groups_unlink` on `catalog_featuregroup` does (migration usage.0011), for
# deletes through the ORM too: the fields say DO_NOTHING, so Django does not do it a second time.


def group_link() -> models.ForeignKey:
    """The catalog group a usage row counts, as its id: nullable (a group the catalog learns later
    is linked by ARN), no index of its own (each table's indexes lead with it where needed), no
    constraint (GROUP_LINK_NOTE)."""
    return models.ForeignKey(
        FeatureGroup,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,  # the trigger usage_feature_groups_unlink sets NULL (above)
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


class TrailSource(models.Model):
    """A CloudTrail trail's S3 location that Pantry ingests, with its ingestion health."""

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", "Organisation trail"
        ACCOUNT = "account", "Account trail"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    bucket = models.CharField(max_length=63, help_text="S3 bucket the trail delivers to.")
    prefix = models.CharField(max_length=200, blank=True, help_text="The trail's S3 key prefix, if any.")
    region = models.CharField(max_length=32, help_text="Region of the bucket.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ORGANISATION)
    organisation_id = models.CharField(max_length=64, blank=True, help_text="o-… for an organisation trail.")
    account_id = models.CharField(max_length=12, help_text="Account that owns the trail.")
    # The role Pantry assumes to read the bucket (s3:ListBucket, s3:GetObject).
    role_arn = models.CharField(max_length=2048)
    external_id = models.CharField(max_length=1224, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Listing position: {"<account/region log prefix>": "<last key listed>"}. One position per
    # account and region, because keys of different accounts interleave in S3's order.
    cursor = models.JSONField(default=dict, blank=True)
    # Accounts whose logs this trail delivers (from the listing): a cross-account call is
    # counted on the owner's copy when the owner's account is covered by some source.
    accounts_seen = models.JSONField(default=list, blank=True)

    # Health.
    last_listed_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    files_done = models.PositiveBigIntegerField(default=0)
    files_quarantined = models.PositiveBigIntegerField(default=0)
    events_total = models.PositiveBigIntegerField(default=0)
    events_kept = models.PositiveBigIntegerField(default=0)
    newest_file_at = models.DateTimeField(null=True, blank=True, help_text="Delivery time of the newest file listed.")
    newest_done_at = models.DateTimeField(null=True, blank=True, help_text="Delivery time of the newest file done.")
    lag_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Newest file listed − oldest not done.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        try:
            return reverse("usage:source_detail", args=[self.uuid])
        except NoReverseMatch:  # the operator pages are not wired
            return ""

    @property
    def log_root(self) -> str:
        """`[prefix/]AWSLogs/[o-ORG/]` under which the trail writes account folders."""
        root = f"{self.prefix.strip('/')}/" if self.prefix.strip("/") else ""
        root += "AWSLogs/"
        if self.kind == self.Kind.ORGANISATION and self.organisation_id:
            root += f"{self.organisation_id}/"
        return root


class TrailFile(models.Model):
    """The ledger: one row per log file (S3 object). Its state changes in the same transaction
    as the file's events and rollups, so a file is counted exactly once."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Being ingested"
        DONE = "done", "Done"
        QUARANTINED = "quarantined", "Quarantined"

    # No single-column index: trailfile_unique_source_key and trailfile_source_state lead with the
    # source (a cascade delete and the per-source counts use them), and each of a file's three
    # ledger updates (claim, attempt, done) would write an entry in it.
    source = models.ForeignKey(TrailSource, on_delete=models.CASCADE, related_name="files", db_index=False)
    key = models.CharField(max_length=1024)
    size = models.PositiveBigIntegerField(default=0)
    etag = models.CharField(max_length=100, blank=True)
    log_account_id = models.CharField(max_length=12, blank=True)
    log_region = models.CharField(max_length=32, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="Delivery time from the key's name.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    listed_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    events_total = models.PositiveIntegerField(default=0)
    events_kept = models.PositiveIntegerField(default=0)
    # Quarantine reason, or a note on skipped records in a file that was otherwise ingested.
    error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="trailfile_unique_source_key")]
        indexes = [
            # Claiming: the oldest pending files first.
            models.Index(
                fields=["delivered_at", "id"],
                name="trailfile_pending",
                condition=models.Q(state="pending"),
            ),
            # Sweeping: claims whose heartbeat stopped.
            models.Index(fields=["heartbeat_at"], name="trailfile_claimed", condition=models.Q(state="claimed")),
            models.Index(fields=["source", "state", "delivered_at"], name="trailfile_source_state"),
        ]

    def __str__(self) -> str:
        return self.key


class CloudTrailEvent(models.Model):
    """A kept, counted CloudTrail event (one row per event and feature group it touched).

    Only the copy that counts is kept (a cross-account call's other copy and Pantry's own calls
    are not), so a direct count over these rows equals the rollups for the retention window.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        DENIED = "denied", "Denied"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        SAGEMAKER = "sagemaker", "SageMaker"
        RAM = "ram", "RAM"

    event_id = models.UUIDField()
    shared_event_id = models.UUIDField(null=True, blank=True)
    event_time = models.DateTimeField()
    event_name = models.CharField(max_length=64)
    event_source = models.CharField(max_length=16, choices=Source.choices)
    read_only = models.BooleanField(default=False)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)
    # The caller's ARN when the record carries it; on an owner's copy of a cross-account call
    # (userIdentity type AWSAccount) the ARN from a denial message, else "<principalId>".
    principal_arn = models.CharField(max_length=2048, blank=True)
    principal_type = models.CharField(max_length=32, blank=True)
    principal_account_id = models.CharField(max_length=12, blank=True)
    source_ip = models.CharField(max_length=64, blank=True)
    owner_account_id = models.CharField(max_length=12, blank=True)
    consumer_account_id = models.CharField(max_length=12, blank=True)
    # No single-column index: ctevent_group_time leads with the group.
    feature_group = group_link()
    feature_group_arn = models.CharField(max_length=2048, blank=True)
    region = models.CharField(max_length=32, blank=True)
    # Which file delivered it, for tracing. No constraint and no index: every index costs each
    # insert, and a source removed with its ledger need not rewrite its events.
    file = models.ForeignKey(
        TrailFile,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        constraints = [
            # Dedupe: the same event delivered again (in the same or a later file) is not kept twice.
            models.UniqueConstraint(fields=["event_id", "feature_group_arn"], name="ctevent_unique_event_group"),
            # The two copies of one cross-account call: counted once even when the rule that picks
            # the counted copy changes under it (a source added while files of the period wait).
            models.UniqueConstraint(
                fields=["shared_event_id", "feature_group_arn"],
                name="ctevent_unique_shared_event_group",
                condition=models.Q(shared_event_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["event_time"], name="ctevent_time"),
            models.Index(fields=["feature_group", "event_time"], name="ctevent_group_time"),
            models.Index(fields=["event_time"], name="ctevent_denied_time", condition=models.Q(outcome="denied")),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"


class UsageDaily(models.Model):
    """Calls per UTC day and dimension, kept for good. Upserted `calls = calls + excluded.calls`
    in the transaction that marks the file done."""

    day = models.DateField()
    # No single-column index: usagedaily_group_day leads with the group.
    feature_group = group_link()
    # The dimension itself (the FK follows it: a group the catalog learns later is linked by ARN).
    feature_group_arn = models.CharField(max_length=2048, blank=True)
    owner_account_id = models.CharField(max_length=12, blank=True)
    consumer_account_id = models.CharField(max_length=12, blank=True)
    principal_arn = models.CharField(max_length=2048, blank=True)
    operation = models.CharField(max_length=64)
    outcome = models.CharField(max_length=8, choices=CloudTrailEvent.Outcome.choices)
    read_only = models.BooleanField(default=False)
    calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "feature_group_arn",
                    "owner_account_id",
                    "consumer_account_id",
                    "principal_arn",
                    "operation",
                    "outcome",
                    "read_only",
                ],
                name="usagedaily_unique_dimensions",
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="usagedaily_day"),
            models.Index(fields=["feature_group", "day"], name="usagedaily_group_day"),
            models.Index(fields=["consumer_account_id", "day"], name="usagedaily_consumer_day"),
            # Covering: an owner's top principals sum their window's rows by principal and group
            # (an index-only scan of the owner's entries, not the window's pages of every owner).
            models.Index(
                fields=["owner_account_id", "day"],
                include=["outcome", "consumer_account_id", "principal_arn", "feature_group_id", "calls"],
                name="usagedaily_owner_day_cover",
            ),
            # The denied calls table: a few rows of the window, not all of them.
            models.Index(fields=["day"], name="usagedaily_denied_day", condition=models.Q(outcome="denied")),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.operation} {self.calls}"


class UsageDailyTotal(models.Model):
    """`UsageDaily` without the principal: what organisation-wide charts aggregate (per day,
    top groups and consumers, outcomes), with far fewer rows. Written by the same statement, in
    the same transaction, from the same inserted events."""

    day = models.DateField()
    # No single-column index: usagedailytotal_group_day leads with the group.
    feature_group = group_link()
    feature_group_arn = models.CharField(max_length=2048, blank=True)
    owner_account_id = models.CharField(max_length=12, blank=True)
    consumer_account_id = models.CharField(max_length=12, blank=True)
    operation = models.CharField(max_length=64)
    outcome = models.CharField(max_length=8, choices=CloudTrailEvent.Outcome.choices)
    read_only = models.BooleanField(default=False)
    calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "feature_group_arn",
                    "owner_account_id",
                    "consumer_account_id",
                    "operation",
                    "outcome",
                    "read_only",
                ],
                name="usagedailytotal_unique_dimensions",
            ),
        ]
        indexes = [
            # Covering: the window's per-day breakdown and its (group, consumer) pairs are
            # index-only scans; in this key order the breakdown sums rows as they come, no hashing.
            models.Index(
                fields=["day", "operation", "outcome", "read_only"],
                include=["calls", "feature_group_id", "consumer_account_id"],
                name="usagedailytotal_day_operation",
            ),
            models.Index(fields=["feature_group", "day"], name="usagedailytotal_group_day"),
            models.Index(fields=["consumer_account_id", "day"], name="usagedailytotal_consumer_day"),
            models.Index(fields=["owner_account_id", "day"], name="usagedailytotal_owner_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.operation} {self.calls}"


class UsagePairDaily(models.Model):
    """Successful calls per UTC day, feature group and consumer account: `UsageDailyTotal` without
    the operation, outcome and read-only dimensions (about a quarter of its successful rows), so
    grants vs use sums each (group, consumer) pair's calls over the window without adding up its
    operations first. Written by the statement that writes `UsageDaily`, in the same transaction,
    from the same inserted events (`usage.services._MOVE_SQL`)."""

    day = models.DateField()
    # The dimension is the ARN, as in the other rollups; the catalog's id follows it.
    feature_group = group_link()
    feature_group_arn = models.CharField(max_length=2048, blank=True)
    owner_account_id = models.CharField(max_length=12, blank=True)
    consumer_account_id = models.CharField(max_length=12, blank=True)
    calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # Its only index, led by the day: the window's rows are one range of it. `calls` is left
            # out of the index so that the ingestion's `calls = calls + excluded.calls` can be a
            # HOT update (no index entry written), which is most of this table's writes.
            models.UniqueConstraint(
                fields=["day", "feature_group_arn", "owner_account_id", "consumer_account_id"],
                name="usagepairdaily_unique_dimensions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.feature_group_arn} {self.consumer_account_id} {self.calls}"


class UsagePrincipalDaily(models.Model):
    """Successful calls per UTC day, consumer account and principal, with the feature groups
    called: what "top principals" aggregates (a few rows per active principal and day, instead of
    one per group × operation). Written by the statement that writes `UsageDaily`, in the same
    transaction, from the same inserted events (`usage.services._MOVE_SQL`).

    `feature_group_arns` holds the distinct ARNs (sorted, without the empty one) so that the
    groups a principal called over any range can be counted exactly for the few principals shown.
    """

    day = models.DateField()
    consumer_account_id = models.CharField(max_length=12, blank=True)
    principal_arn = models.CharField(max_length=2048, blank=True)
    calls = models.PositiveBigIntegerField(default=0)
    feature_group_arns = ArrayField(models.CharField(max_length=2048), default=list, blank=True)

    class Meta:
        constraints = [
            # Leads with the principal: the groups of the few principals shown, over a range.
            models.UniqueConstraint(
                fields=["consumer_account_id", "principal_arn", "day"], name="usageprincipaldaily_unique_dimensions"
            ),
        ]
        indexes = [
            # The window's calls per principal, as an index-only scan (the ARN arrays stay in the heap).
            models.Index(
                fields=["day"],
                include=["consumer_account_id", "principal_arn", "calls"],
                name="usageprincipaldaily_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.principal_arn} {self.calls}"


class UsageLastUse(models.Model):
    """The last UTC day of a successful call per feature group (ARN), consumer account and
    operation, kept for good: grants vs use reads which operations a pair used in the window and
    when a pair was last used without aggregating days of rollups. Written by the statement that
    writes `UsageDaily` (`greatest` of the days, so counting a file twice cannot change it)."""

    feature_group_arn = models.CharField(max_length=2048)
    consumer_account_id = models.CharField(max_length=12, blank=True)
    operation = models.CharField(max_length=64)
    last_day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["feature_group_arn", "consumer_account_id", "operation"],
                name="usagelastuse_unique_dimensions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature_group_arn} {self.consumer_account_id} {self.operation} {self.last_day}"

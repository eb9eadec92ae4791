"""Catalog tables: AWS accounts, who belongs to them, feature groups, features, sync runs.

AWS stays the source of truth for feature groups; these rows are Pantry's
searchable copy. Public identifiers are ARNs and UUIDs, never integer keys.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchConfig, SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from catalog.scope import visibility_scope

ACCOUNT_ID_VALIDATOR = RegexValidator(r"^\d{12}$", "An AWS account id is exactly 12 digits.")
ROLE_ARN_VALIDATOR = RegexValidator(
    r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "Enter an IAM role ARN like arn:aws:iam::123456789012:role/PantryCatalogReader.",
)
EXTERNAL_ID_VALIDATOR = RegexValidator(
    r"^[\w+=,.@:/-]{2,1224}$",
    "An external id is 2 to 1224 characters: letters, digits and +=,.@:/-_",
)


def external_id_generate() -> str:
    """A new external id: 192 random bits, URL-safe, so no one can guess another account's.

    AWS's confused-deputy guidance has the third party (Pantry) generate the
    id, unique per customer account, and the account's owners put it in the
    role's trust policy. https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    return f"pantry-{secrets.token_urlsafe(24)}"


class AwsAccount(models.Model):
    """An AWS account Pantry reads (owner) or shares into (consumer)."""

    class Kind(models.TextChoices):
        OWNER = "owner", "Owner (holds feature groups)"
        CONSUMER = "consumer", "Consumer (uses shared feature groups)"
        BOTH = "both", "Owner and consumer"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account_id = models.CharField(
        max_length=12, unique=True, validators=[ACCOUNT_ID_VALIDATOR], help_text="12-digit AWS account id."
    )
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OWNER)
    team = models.CharField(max_length=100, blank=True, help_text="Team that owns this account's features.")
    contact_email = models.EmailField(blank=True)
    role_arn = models.CharField(
        max_length=2048,
        validators=[ROLE_ARN_VALIDATOR],
        help_text="Role Pantry assumes in this account to read its catalog.",
    )
    # The external id is a confused-deputy guard, not a password: Pantry
    # generates it and shows it, with the trust policy, to the account's owners,
    # admins and operators (they put it in the role's trust policy); it is never
    # written to logs, audit entries or API responses.
    external_id = models.CharField(max_length=1224, validators=[EXTERNAL_ID_VALIDATOR], default=external_id_generate)
    regions = ArrayField(models.CharField(max_length=32), default=list)
    metadata_write_allowed = models.BooleanField(
        default=False,
        help_text="Pantry's role may call UpdateFeatureMetadata, so description edits are written back to AWS.",
    )
    sync_enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    def get_absolute_url(self) -> str:
        return reverse("catalog:account_detail", args=[self.uuid])

    # Said wherever a sync of a consumer-only account is asked for or would be shown.
    NOT_SYNCED_REASON = "Consumer accounts hold no feature groups of their own, so Pantry does not sync them."

    @property
    def is_owner(self) -> bool:
        """Holds feature groups, so Pantry syncs it (consumer-only accounts are never synced)."""
        return self.kind in (self.Kind.OWNER, self.Kind.BOTH)


class Membership(models.Model):
    """A person's role in one AWS account, as Pantry sees it."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        OWNER = "owner", "Feature owner"
        ACCOUNT_ADMIN = "account_admin", "Account admin"

    class Source(models.TextChoices):
        # Given by an operator (pages, admin, API, demo): sign-ins never change it.
        MANUAL = "manual", "Set by hand"
        # Given by a role mapping from the person's IdP groups: each OIDC
        # sign-in (and each mapping change) adds, changes or removes it to
        # match the groups (docs/identity.md).
        DIRECTORY = "directory", "From the directory"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    # For directory memberships: the IdP groups whose mappings gave it.
    directory_groups = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="membership_unique_user_account")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.account.name}"


class FeatureGroupQuerySet(models.QuerySet):
    def live(self) -> FeatureGroupQuerySet:
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user, *, scope=None) -> FeatureGroupQuerySet:
        """The one visibility gate: what `user` may see of the catalog.

        A group is visible when the user belongs to its owner account, when
        the owner account made its catalog discoverable to one of the user's
        accounts in that region, or when the group itself is shared with one
        of the user's accounts. Staff operators and governance see all.
        `scope` (from `sharing.visibility.visibility_scope`, passed in or resolved through `catalog.scope`) saves resolving
        the user's accounts and grants again when the caller has them.
        """
        scope = scope or visibility_scope(user)
        if scope.everything:
            return self
        if not (scope.member_accounts or scope.catalogs or scope.granted_groups):
            return self.none()
        return self.filter(scope.visible_q())


def user_sees_everything(user) -> bool:
    """Operators (staff) and the governance group see every account's catalog."""
    if user.is_superuser or user.is_staff:
        return True
    cache = getattr(user, "_pantry_is_governance", None)
    if cache is None:
        cache = user.groups.filter(name=GOVERNANCE_GROUP).exists()
        user._pantry_is_governance = cache
    return cache


GOVERNANCE_GROUP = "governance"


# Weights: name A, descriptions B, feature names and descriptions C, tag keys
# and values D. PostgreSQL's parser already splits `customer_age` into
# `customer` and `age`, so names need no underscore rewriting.
GROUP_SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(description, '') || ' ' || coalesce(pantry_description, '')), 'B')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(feature_words, '')), 'C')"
    " || setweight(jsonb_to_tsvector('english'::regconfig, coalesce(tags, '{}'::jsonb), '[\"key\", \"string\"]'), 'D')"
)


# What "the same name" means for search's exact and prefix tiers: the name in
# lower case with everything but ASCII letters and digits removed, so
# `Customer_Age`, `customer-age` and the query "customer age" share the key
# `customerage`. Expression indexes on both tables (text_pattern_ops, for
# `LIKE 'key%'`) use exactly this expression; catalog.selectors.search builds
# the query side with NAME_KEY_RE.
def name_key_expression(column: str = "name") -> models.Func:
    return Lower(
        models.Func(models.F(column), Value("[^a-zA-Z0-9]+"), Value(""), Value("g"), function="regexp_replace")
    )


# The group's vector without positions or weights: one entry per distinct
# word, ~0.6 kB, stored inline in the row. Matching reads this instead of the
# full vector (~1.8 kB compressed, TOASTed), whose de-TOAST cost ~14 µs per
# row walked (docs/search.md); the full vector stays for phrase checks.
GROUP_SEARCH_LEXEMES_SQL = f"strip({GROUP_SEARCH_VECTOR_SQL})"
# A feature's name words; catalog.selectors.search queries this exact expression.
FEATURE_NAME_VECTOR = models.Func(SearchConfig("english"), models.F("name"), function="to_tsvector")
GROUP_NAME_VECTOR_SQL = "to_tsvector('english'::regconfig, coalesce(name, ''))"


class FeatureGroup(models.Model):
    """A SageMaker Feature Store feature group, as last synced from its owner account."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="feature_groups")
    region = models.CharField(max_length=32)
    arn = models.CharField(max_length=2048, unique=True)
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True, help_text="Description stored in AWS.")
    pantry_description = models.TextField(blank=True, help_text="Markdown description written in Pantry.")
    record_identifier_feature = models.CharField(max_length=64, blank=True)
    event_time_feature = models.CharField(max_length=64, blank=True)
    online_store_enabled = models.BooleanField(default=False)
    online_store_config = models.JSONField(default=dict, blank=True)
    offline_store_enabled = models.BooleanField(default=False)
    offline_s3_uri = models.CharField(max_length=1024, blank=True)
    glue_database = models.CharField(max_length=255, blank=True)
    glue_table = models.CharField(max_length=255, blank=True)
    table_format = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32, blank=True)
    offline_store_status = models.CharField(max_length=32, blank=True)
    role_arn = models.CharField(max_length=2048, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    aws_created_at = models.DateTimeField(null=True, blank=True)
    aws_modified_at = models.DateTimeField(null=True, blank=True)
    # Digest of the group-level fields last written; a sync that computes the
    # same digest writes nothing.
    digest = models.CharField(max_length=64, blank=True)
    feature_count = models.PositiveIntegerField(default=0)
    # Space-separated feature names and descriptions, kept by the sync so the
    # group's search vector carries its features' words.
    feature_words = models.TextField(blank=True)
    # Usage popularity (filled from audit events by the usage app).
    popularity = models.FloatField(default=0)
    first_seen_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Set when a complete listing no longer had it.")
    # Stored, weighted search vector (docs/search.md). Generated by PostgreSQL
    # from the row itself, so no code path can forget to refresh it; the
    # explicit 'english' regconfig keeps the expression immutable.
    search_vector = models.GeneratedField(
        expression=RawSQL(GROUP_SEARCH_VECTOR_SQL, []),  # noqa: S611 (a constant expression, no input)
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # For search's candidate tiers (docs/search.md): the name's words alone,
    # and the words of the whole vector without positions (both generated).
    name_vector = models.GeneratedField(
        expression=RawSQL(GROUP_NAME_VECTOR_SQL, []),  # noqa: S611 (a constant expression, no input)
        output_field=SearchVectorField(),
        db_persist=True,
    )
    search_lexemes = models.GeneratedField(
        expression=RawSQL(GROUP_SEARCH_LEXEMES_SQL, []),  # noqa: S611 (a constant expression, no input)
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = FeatureGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["account", "region"], name="fg_account_region"),
            GinIndex(fields=["search_vector"], name="fg_search_vector"),
            GinIndex(fields=["search_lexemes"], name="fg_search_lexemes"),
            GinIndex(fields=["name_vector"], name="fg_name_vector"),
            # Exact and prefix name matches (search's first tiers).
            models.Index(OpClass(name_key_expression(), name="text_pattern_ops"), name="fg_name_key"),
            # The search's tag facet (`tags @> {"key": "value"}`): a rare tag is
            # looked up here instead of filtering every visible group (docs/search.md).
            GinIndex(OpClass("tags", name="jsonb_path_ops"), name="fg_tags"),
            # Popularity-ordered walks: the "most used" sort and search's
            # candidate tiers. The gate's columns and the name vector ride along,
            # so a walk is an index-only scan over densely packed tuples instead
            # of a random heap page per group (docs/search.md). Not the tags: a
            # btree entry must fit in a third of a page, and AWS allows 50 tags of
            # up to 128 + 256 characters (~19 kB), so a sync would fail on them.
            models.Index(
                fields=["-popularity", "id"],
                name="fg_popularity_walk",
                include=[
                    "account_id",
                    "region",
                    "deleted_at",
                    "status",
                    "online_store_enabled",
                    "offline_store_enabled",
                    "name",
                    "name_vector",
                ],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:group_detail", args=[self.uuid])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Feature(models.Model):
    """One feature definition of a feature group, with its metadata."""

    class Type(models.TextChoices):
        STRING = "String"
        INTEGRAL = "Integral"
        FRACTIONAL = "Fractional"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    feature_group = models.ForeignKey(FeatureGroup, on_delete=models.CASCADE, related_name="features")
    name = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=16, choices=Type.choices)
    collection_type = models.CharField(max_length=16, blank=True)
    collection_config = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True, help_text="Description stored in AWS feature metadata.")
    pantry_description = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    aws_created_at = models.DateTimeField(null=True, blank=True)
    aws_modified_at = models.DateTimeField(null=True, blank=True)
    # Name A, descriptions B, its group's name C. A generated column cannot
    # read the group row, so triggers from migration 0004_search keep this
    # current (on insert/update of a feature and on rename of its group).
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["feature_group", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["feature_group", "name"], name="feature_unique_group_name")]
        # Typo tolerance does not scan names by trigram (9 s over 2M names,
        # docs/search.md); it corrects query words against catalog_search_word.
        indexes = [
            GinIndex(fields=["search_vector"], name="feature_search_vector"),
            # Exact and prefix feature-name matches (search's first tiers).
            models.Index(OpClass(name_key_expression(), name="text_pattern_ops"), name="feature_name_key"),
            # The name's words (search's name tier): lets the planner see how
            # rare a name word is (statistics of the expression) and look rare
            # ones up instead of walking groups by popularity.
            GinIndex(FEATURE_NAME_VECTOR, name="feature_name_vector"),
            # The name tier's walk: for each visible group, in popularity order,
            # its features' name words, read from this index alone (an
            # index-only scan; the planner needs `name` in the index to return
            # the expression, and the feature-type facet reads `type`). Reading
            # each feature's heap row instead cost ~24 µs a group (docs/search.md).
            # Every entry is small: a feature name is at most 64 characters (AWS's
            # limit), far below the third of a page a btree entry may take.
            models.Index(
                models.F("feature_group"),
                models.F("id"),
                FEATURE_NAME_VECTOR,
                include=["name", "type"],
                name="feature_group_name_words",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature_group.name}.{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:feature_detail", args=[self.feature_group.uuid, self.name])


# A feature-name word pair's lexemes joined by a space (`amount payment`, the
# two in byte order); lexemes never hold a space, so a pair is never a word.
# A group with more than 20,000 distinct pairs (the trigger's cap, migration
# 0013) gets this lexeme instead, which every pair query also accepts
# (docs/search.md).
FEATURE_NAME_PAIRS_ANY = "?"


class FeatureNamePairs(models.Model):
    """Which two words occur together in one feature name of the group (search's pre-filter).

    Kept by triggers on catalog_feature (migration 0013_feature_name_pairs), so
    every path that writes features (the sync, tests, a COPY) keeps it; a group
    whose names hold no two words has no row or an empty one (0015). A multi-word feature search walks only the
    visible groups whose row holds every pair of its words (docs/search.md).
    """

    feature_group = models.OneToOneField(
        FeatureGroup, on_delete=models.CASCADE, primary_key=True, related_name="feature_name_pairs"
    )
    pairs = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["pairs"], name="feature_name_pairs")]

    def __str__(self) -> str:
        return f"word pairs of {self.feature_group_id}"


class SyncRun(models.Model):
    """One sync of one account and region: what it did and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped", "Skipped (another sync was running)"
        ABANDONED = "abandoned", "Abandoned (worker stopped)"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        API = "api"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="sync_runs")
    region = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    complete_listing = models.BooleanField(default=False)
    groups_seen = models.PositiveIntegerField(default=0)
    groups_created = models.PositiveIntegerField(default=0)
    groups_updated = models.PositiveIntegerField(default=0)
    groups_deleted = models.PositiveIntegerField(default=0)
    features_written = models.PositiveIntegerField(default=0)
    lineage_refreshed = models.BooleanField(default=False)
    lineage_edges = models.PositiveIntegerField(default=0, help_text="SageMaker lineage edges seen, when refreshed.")
    api_calls = models.JSONField(default=dict, blank=True, help_text="AWS calls made, by operation.")
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [models.Index(fields=["account", "region", "-queued_at"], name="syncrun_account_recent")]
        constraints = [
            # The sync lock: at most one running sync per account and region.
            models.UniqueConstraint(
                fields=["account", "region"],
                condition=Q(status="running"),
                name="syncrun_one_running_per_account_region",
            )
        ]

    def __str__(self) -> str:
        return f"sync {self.account.name}/{self.region} {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:syncrun_detail", args=[self.uuid])

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def total_api_calls(self) -> int:
        return sum(self.api_calls.values()) if self.api_calls else 0


class SyncState(models.Model):
    """Per account and region: the incremental-sync watermark and health summary."""

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="sync_states")
    region = models.CharField(max_length=32)
    # Highest feature-metadata LastModifiedTime already applied; the next sync
    # asks AWS only for features modified after it.
    features_modified_watermark = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Lineage costs a QueryLineage per group, so it is refreshed when groups
    # change or when this is older than PANTRY_LINEAGE_REFRESH_MINUTES, not on
    # every catalog sync.
    lineage_synced_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "region"], name="syncstate_unique_account_region")]

    def __str__(self) -> str:
        return f"{self.account.name}/{self.region}"


class DescriptionEdit(models.Model):
    """Append-only history of Pantry description edits (who, when, before/after)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    feature_group = models.ForeignKey(FeatureGroup, on_delete=models.CASCADE, related_name="description_edits")
    feature = models.ForeignKey(
        Feature, null=True, blank=True, on_delete=models.CASCADE, related_name="description_edits"
    )
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    parameters_before = models.JSONField(default=dict, blank=True)
    parameters_after = models.JSONField(default=dict, blank=True)
    written_to_aws = models.BooleanField(default=False)
    aws_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        target = f"{self.feature_group.name}.{self.feature.name}" if self.feature_id else self.feature_group.name
        return f"edit of {target} by {self.editor}"


class LineageNode(models.Model):
    """Something lineage connects: a feature group, a data source, a pipeline, a job, a model."""

    class Kind(models.TextChoices):
        FEATURE_GROUP = "feature_group", "Feature group"
        S3 = "s3", "S3 location"
        GLUE_TABLE = "glue_table", "Glue table"
        DATASET = "dataset", "Dataset"
        PIPELINE = "pipeline", "Pipeline"
        JOB = "job", "Job"
        PROCESSING_JOB = "processing_job", "Processing job"
        TRAINING_JOB = "training_job", "Training job"
        MODEL = "model", "Model"
        ENDPOINT = "endpoint", "Endpoint"
        OTHER = "other", "Other"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Natural key: an ARN, an s3:// URI, glue://database/table, or an
    # OpenLineage namespace/name pair joined as "namespace::name".
    key = models.CharField(max_length=2048, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    name = models.CharField(max_length=512)
    account = models.ForeignKey(
        AwsAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="lineage_nodes"
    )
    feature_group = models.OneToOneField(
        FeatureGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="lineage_node"
    )
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


class OpenLineageEvent(models.Model):
    """An OpenLineage event POSTed to /api/v1/lineage (a run, a job or a dataset event), kept as received."""

    class Kind(models.TextChoices):
        RUN = "run", "RunEvent"
        JOB = "job", "JobEvent (static lineage)"
        DATASET = "dataset", "DatasetEvent (dataset metadata)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RUN)
    # Hash of what makes two posts the same event for the same poster (kind,
    # submitter, run, type, time, job or dataset): a retry finds the first.
    identity = models.CharField(max_length=64, blank=True, db_index=True)
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField()
    run_id = models.CharField(max_length=64, blank=True)
    job_namespace = models.CharField(max_length=512, blank=True)
    job_name = models.CharField(max_length=512, blank=True)
    producer = models.CharField(max_length=2048, blank=True)
    payload = models.JSONField()
    matched = models.JSONField(default=list, blank=True, help_text="Dataset keys matched to feature groups.")
    unmatched = models.JSONField(default=list, blank=True, help_text="Dataset keys matched to nothing.")
    rejected = models.JSONField(
        default=list,
        blank=True,
        help_text="Datasets the submitter may not record, with the reason; nothing was written.",
    )
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.job_namespace}/{self.job_name} run {self.run_id}"


class LineageEdge(models.Model):
    """A directed edge: `source` feeds `target`. Each edge records where it came from."""

    class Origin(models.TextChoices):
        SAGEMAKER = "sagemaker", "SageMaker lineage"
        OPENLINEAGE = "openlineage", "OpenLineage event"
        MANUAL = "manual", "Added by an owner"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.ForeignKey(LineageNode, on_delete=models.CASCADE, related_name="edges_out")
    target = models.ForeignKey(LineageNode, on_delete=models.CASCADE, related_name="edges_in")
    origin = models.CharField(max_length=16, choices=Origin.choices)
    relation = models.CharField(max_length=64, blank=True, help_text="e.g. ContributedTo, Produced, input, output.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    openlineage_event = models.ForeignKey(
        OpenLineageEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="edges"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # An owner of a group the edge touches hid it: it leaves the graph for
    # everyone but stays here (a sync or a repeated event does not bring it back).
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "origin"], name="lineageedge_unique_per_origin"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="lineageedge_no_self_loop"),
        ]
        indexes = [models.Index(fields=["target", "source"], name="lineageedge_target_source")]

    def __str__(self) -> str:
        return f"{self.source} → {self.target} ({self.origin})"

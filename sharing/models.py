"""Sharing: access requests, RAM shares and invitations, and the grants the visibility gate reads.

- `Grant`: one consumer account's access to one feature group (or discoverability of one
  owner account's catalog in one region). What `sharing.visibility` reads.
- `Share`: Pantry's mirror of one AWS RAM resource share. Pantry keeps one share per
  (owner account, consumer account, region, level) and extends it, instead of a share per request.
- `AccessRequest`: a person asks for access for their account; owners decide; provisioning
  creates or extends the share; the state machine is in `sharing.services`.
- `Invitation`: mirror of a RAM invitation sent to a consumer account outside the organisation.
- `Notification`: an in-app message (also e-mailed) to one person.
- `SharingPolicy`: an owner account's terms of use and default / maximum duration.

Every change goes through `sharing.services` and is written to the audit log
(`portal.audit.audit_log`) in the same transaction; there is no separate audit table.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import AwsAccount, FeatureGroup

CATALOG_PERMISSION = "AWSRAMPermissionSageMakerCatalogResourceSearch"

DEFAULT_ACCESS_DAYS = 90
MAX_REASON_LENGTH = 4096


def end_of_day(day: date) -> datetime:
    """Access with end date `day` ends when `day` ends (UTC)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


class GrantQuerySet(models.QuerySet):
    def active(self) -> GrantQuerySet:
        # sharing/visibility.py (_SCOPE_SQL) spells this rule in SQL for every request; a test
        # (tests/catalog/test_visibility.py) keeps the two equal: change both together.
        now = timezone.now()
        return self.filter(status=Grant.Status.ACTIVE).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def live(self) -> GrantQuerySet:
        """Pending or active (not ended): at most one per resource and consumer."""
        return self.filter(status__in=Grant.LIVE_STATUSES)


class Grant(models.Model):
    class ResourceType(models.TextChoices):
        CATALOG = "catalog", "Feature group catalog (discoverability)"
        FEATURE_GROUP = "feature_group", "Feature group (access)"

    class Permission(models.TextChoices):
        DISCOVER = "discover", "Discover"
        READ_ONLY = "read_only", "Read only"
        READ_WRITE = "read_write", "Read and write"
        ADMIN = "admin", "Admin"

    class Status(models.TextChoices):
        PENDING = "pending", "Invitation pending"
        ACTIVE = "active"
        REVOKED = "revoked"
        EXPIRED = "expired"

    class Source(models.TextChoices):
        RAM = "ram", "AWS RAM"
        SEED = "seed", "Demo seed"
        MANUAL = "manual", "Recorded by an operator"

    LIVE_STATUSES = (Status.PENDING, Status.ACTIVE)

    # The RAM managed permission behind each level, as AWS's docs name them. Pantry resolves
    # the real ARNs with ListPermissions at run time (`sharing.aws.RamGateway.managed_permissions`)
    # because the documented names differ in case ("SageMaker" / "Sagemaker").
    RAM_PERMISSIONS = {
        Permission.DISCOVER: CATALOG_PERMISSION,
        Permission.READ_ONLY: "AWSRAMPermissionSageMakerFeatureGroupReadOnly",
        Permission.READ_WRITE: "AWSRAMPermissionSagemakerFeatureGroupReadWrite",
        Permission.ADMIN: "AWSRAMPermissionSagemakerFeatureGroupAdmin",
    }
    # Higher number, more power; used to pick a user's best level.
    LEVEL_ORDER = {Permission.DISCOVER: 1, Permission.READ_ONLY: 2, Permission.READ_WRITE: 3, Permission.ADMIN: 4}

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="grants_given")
    consumer_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="grants_received")
    region = models.CharField(max_length=32)
    resource_type = models.CharField(max_length=16, choices=ResourceType.choices)
    feature_group = models.ForeignKey(
        FeatureGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    permission = models.CharField(max_length=16, choices=Permission.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.RAM)
    resource_share_arn = models.CharField(max_length=2048, blank=True)
    share = models.ForeignKey("Share", null=True, blank=True, on_delete=models.SET_NULL, related_name="grants")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The last day of access (None: until revoked). `expires_at` is the moment it ends
    # (the end of that day, UTC), which the visibility gate compares with now.
    ends_on = models.DateField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True, help_text="When the 'ending soon' notice went out.")
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(resource_type="catalog", feature_group__isnull=True, permission="discover")
                    | (Q(resource_type="feature_group", feature_group__isnull=False) & ~Q(permission="discover"))
                ),
                name="grant_resource_matches_permission",
            ),
            # Ended grants stay as history; only one live grant per resource and consumer.
            models.UniqueConstraint(
                fields=["owner_account", "consumer_account", "region"],
                condition=Q(resource_type="catalog", status__in=["pending", "active"]),
                name="grant_one_catalog_grant_per_pair",
            ),
            models.UniqueConstraint(
                fields=["feature_group", "consumer_account"],
                condition=Q(resource_type="feature_group", status__in=["pending", "active"]),
                name="grant_one_group_grant_per_consumer",
            ),
        ]
        indexes = [models.Index(fields=["consumer_account", "status"], name="grant_consumer_status")]

    def __str__(self) -> str:
        target = self.feature_group.name if self.feature_group_id else f"catalog {self.region}"
        return f"{self.owner_account.name} → {self.consumer_account.name}: {target} ({self.permission})"

    @property
    def ram_permission(self) -> str:
        return self.RAM_PERMISSIONS[self.Permission(self.permission)]

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def resource_label(self) -> str:
        if self.feature_group_id:
            return self.feature_group.name
        return f"Catalog of {self.owner_account.name} ({self.region})"


class SharingPolicy(models.Model):
    """An owner account's terms of use and how long access lasts by default and at most."""

    account = models.OneToOneField(AwsAccount, on_delete=models.CASCADE, related_name="sharing_policy")
    terms_of_use = models.TextField(blank=True)
    default_days = models.PositiveIntegerField(default=DEFAULT_ACCESS_DAYS)
    max_days = models.PositiveIntegerField(default=DEFAULT_ACCESS_DAYS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "sharing policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(default_days__gte=1) & Q(default_days__lte=models.F("max_days")),
                name="sharing_policy_default_within_max",
            ),
        ]

    def __str__(self) -> str:
        return f"Sharing policy of {self.account.name}"

    @classmethod
    def for_account(cls, account: AwsAccount) -> SharingPolicy:
        """The account's saved policy, or the defaults (unsaved)."""
        return cls.objects.filter(account=account).first() or cls(account=account)

    def default_ends_on(self, today: date | None = None) -> date:
        return (today or timezone.localdate()) + timedelta(days=self.default_days)

    def latest_ends_on(self, today: date | None = None) -> date:
        return (today or timezone.localdate()) + timedelta(days=self.max_days)


class Share(models.Model):
    """Pantry's mirror of one AWS RAM resource share (one per owner × consumer × region × level)."""

    class Status(models.TextChoices):
        # Pantry made the row and has not created the share in AWS yet.
        PENDING = "pending", "Being created"
        ACTIVE = "active", "Active"
        DELETED = "deleted", "Deleted"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="shares_given")
    consumer_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="shares_received")
    region = models.CharField(max_length=32)
    level = models.CharField(max_length=16, choices=Grant.Permission.choices)
    resource_share_arn = models.CharField(max_length=2048, blank=True)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # True when Pantry found it in AWS instead of creating it (reconcile).
    made_outside_pantry = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner_account__name", "consumer_account__name", "region", "level"]
        constraints = [
            # Pantry extends one share per pair, Region and level; shares made outside Pantry
            # are mirrored as they are (one row per share and consumer account).
            models.UniqueConstraint(
                fields=["owner_account", "consumer_account", "region", "level"],
                condition=~Q(status="deleted") & Q(made_outside_pantry=False),
                name="share_one_per_pair_region_level",
            ),
            models.UniqueConstraint(
                fields=["resource_share_arn", "consumer_account"],
                condition=~Q(resource_share_arn=""),
                name="share_unique_arn_consumer",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.owner_account.name} → {self.consumer_account.name} {self.region} {self.level}"

    @property
    def ram_permission_name(self) -> str:
        return Grant.RAM_PERMISSIONS[Grant.Permission(self.level)]


class AccessRequest(models.Model):
    """Someone asks for access for their account; the owner account's owners decide."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the owner"
        APPROVED = "approved", "Approved"
        PROVISIONING = "provisioning", "Being shared in AWS"
        INVITED = "invited", "Waiting for the account admin to accept"
        INVITATION_EXPIRED = "invitation_expired", "Invitation expired"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        FAILED = "failed", "Failed in AWS"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Ended"

    OPEN_STATES = (
        State.PENDING,
        State.APPROVED,
        State.PROVISIONING,
        State.INVITED,
        State.INVITATION_EXPIRED,
        State.FAILED,
    )
    # Requests whose approval still holds (provisioning may run, an invitation may be re-sent).
    APPROVED_STATES = (State.APPROVED, State.PROVISIONING, State.INVITED, State.INVITATION_EXPIRED, State.FAILED)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    consumer_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="access_requests_made")
    owner_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="access_requests_received")
    region = models.CharField(max_length=32)
    # None: the owner account's catalog in `region` (discoverability).
    feature_group = models.ForeignKey(
        FeatureGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="access_requests"
    )
    level = models.CharField(max_length=16, choices=Grant.Permission.choices)
    reason = models.TextField()
    ends_on = models.DateField()
    terms_accepted = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    granted_level = models.CharField(max_length=16, choices=Grant.Permission.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    aws_error = models.TextField(blank=True)
    share = models.ForeignKey(Share, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_requests")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_requests")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner_account", "state"], name="access_request_owner_state"),
            models.Index(fields=["requester", "-created_at"], name="access_request_requester"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(feature_group__isnull=True, level="discover")
                    | (Q(feature_group__isnull=False) & ~Q(level="discover"))
                ),
                name="access_request_resource_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requester} → {self.resource_label} ({self.level}, {self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def is_catalog(self) -> bool:
        return self.feature_group_id is None

    @property
    def effective_level(self) -> str:
        return self.granted_level or self.level

    @property
    def resource_label(self) -> str:
        if self.feature_group_id:
            return self.feature_group.name
        return f"Catalog of {self.owner_account.name} ({self.region})"


class Invitation(models.Model):
    """Mirror of a RAM resource share invitation received by a consumer account."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        ACCEPTED = "ACCEPTED", "Accepted"
        REJECTED = "REJECTED", "Rejected"
        EXPIRED = "EXPIRED", "Expired"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    share = models.ForeignKey(Share, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    invitation_arn = models.CharField(max_length=2048, unique=True)
    sender_account_id = models.CharField(max_length=12)
    receiver_account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="invitations")
    region = models.CharField(max_length=32, blank=True)
    resource_share_arn = models.CharField(max_length=2048)
    resource_share_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-invited_at", "-id"]
        indexes = [models.Index(fields=["receiver_account", "status"], name="invitation_receiver_status")]

    def __str__(self) -> str:
        return f"{self.resource_share_name or self.resource_share_arn} → {self.receiver_account.name} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING and not self.has_expired

    @property
    def has_expired(self) -> bool:
        return self.status == self.Status.EXPIRED or (
            self.status == self.Status.PENDING and self.expires_at is not None and self.expires_at <= timezone.now()
        )


class Notification(models.Model):
    """Something that needs a person, or changed for them (also e-mailed)."""

    class Kind(models.TextChoices):
        REQUEST_NEW = "request_new", "New access request"
        REQUEST_DECIDED = "request_decided", "Access request decided"
        INVITATION = "invitation", "RAM invitation to accept"
        ACCESS_ACTIVE = "access_active", "Access active"
        ACCESS_ENDING = "access_ending", "Access ending soon"
        ACCESS_ENDED = "access_ended", "Access ended"
        REQUEST_FAILED = "request_failed", "Sharing failed in AWS"
        REVOKE_SUGGESTED = "revoke_suggested", "Revoking suggested"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.CharField(max_length=1024)
    url = models.CharField(max_length=2048, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.user}: {self.message}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

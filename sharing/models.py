"""Sharing: Pantry's mirror of the AWS RAM grants between accounts.

A `Grant` says that an owner account lets a consumer account either discover
its whole feature group catalog in one region, or use one feature group at a
permission level. A later step fills grants from AWS RAM; access requests and
share workflows build on the same table.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import AwsAccount, FeatureGroup

CATALOG_PERMISSION = "AWSRAMPermissionSageMakerCatalogResourceSearch"


class GrantQuerySet(models.QuerySet):
    def active(self) -> GrantQuerySet:
        now = timezone.now()
        return self.filter(status=Grant.Status.ACTIVE).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


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

    # The RAM managed permission behind each level.
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
    expires_at = models.DateTimeField(null=True, blank=True)
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
            models.UniqueConstraint(
                fields=["owner_account", "consumer_account", "region"],
                condition=Q(resource_type="catalog"),
                name="grant_one_catalog_grant_per_pair",
            ),
            models.UniqueConstraint(
                fields=["feature_group", "consumer_account"],
                condition=Q(resource_type="feature_group"),
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

"""Who a person is (OIDC identities), what their IdP groups give them (role mappings), and their API tokens."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import AwsAccount, Membership


class OidcIdentity(models.Model):
    """The link between a Pantry user and a person at the identity provider.

    Keyed by issuer + `sub`, the only identifier OIDC promises is stable and
    unique; an email address can be reassigned or shared, so it never links
    a sign-in to an existing user.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identity")
    issuer = models.CharField(max_length=512)
    subject = models.CharField(max_length=255)
    # The groups claim at the last sign-in: mapping changes are applied to
    # everyone at once from it, without waiting for their next sign-in.
    groups = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    # Whether the operator flag / governance group came from a mapping. Only
    # what the directory gave, the directory takes away; grants made by hand stay.
    directory_staff = models.BooleanField(default=False)
    directory_governance = models.BooleanField(default=False)
    first_login_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "OIDC identity"
        verbose_name_plural = "OIDC identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique_sub")]
        # Mapping changes find the people a group concerns by array overlap.
        indexes = [GinIndex(fields=["groups"], name="oidc_identity_groups")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class RoleMapping(models.Model):
    """An IdP group gives its members a role in one AWS account, governance, or operator rights."""

    class Grants(models.TextChoices):
        ACCOUNT_ROLE = "account_role", "A role in an AWS account"
        GOVERNANCE = "governance", "Governance (sees every account)"
        OPERATOR = "operator", "Operator (staff: accounts, people, audit)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.CharField(
        max_length=255, help_text="The group exactly as the IdP's groups claim carries it (case matters)."
    )
    grants = models.CharField(max_length=16, choices=Grants.choices, default=Grants.ACCOUNT_ROLE)
    account = models.ForeignKey(
        AwsAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="role_mappings"
    )
    role = models.CharField(max_length=20, choices=Membership.Role.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group", "grants", "account__name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(grants="account_role") & Q(account__isnull=False) & ~Q(role=""))
                | (~Q(grants="account_role") & Q(account__isnull=True) & Q(role="")),
                name="role_mapping_target_matches_kind",
            ),
            # One role per group and account; one governance / operator row per group.
            models.UniqueConstraint(
                fields=["group", "account"], condition=Q(grants="account_role"), name="role_mapping_unique_account"
            ),
            models.UniqueConstraint(
                fields=["group", "grants"], condition=~Q(grants="account_role"), name="role_mapping_unique_grant"
            ),
        ]
        indexes = [models.Index(fields=["group"], name="role_mapping_group")]

    def __str__(self) -> str:
        return f"{self.group} → {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.grants == self.Grants.ACCOUNT_ROLE and self.account_id:
            return f"{self.get_role_display()} of {self.account.name}"
        return self.get_grants_display()


class ApiToken(models.Model):
    """A personal API token. The token itself is never stored: only its SHA-256 and a public id.

    The token is `pantry_` + a 12-character public id + a 40-character
    secret (base62, 238 bits). The public id finds the row (an index
    lookup), the digest is compared in constant time, and the id is what
    lists show, so a leaked token can be matched to its row and revoked.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    public_id = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_id})"

    @property
    def display_id(self) -> str:
        return f"pantry_{self.public_id}…"

    def status_at(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at()

    @property
    def is_active(self) -> bool:
        return self.status == "active"

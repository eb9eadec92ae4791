"""Project-wide tables. Today: the audit log every app writes privileged actions to."""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One privileged action: who, what, on which object, before/after, when, from where.

    Append-only, and the database enforces it (migration 0002 adds a trigger
    that refuses UPDATE and DELETE). No foreign keys on purpose: the log must
    outlive the rows it talks about, and ON DELETE SET NULL would be an
    UPDATE the trigger refuses. People are kept by id and username, AWS
    accounts by their 12-digit ids, objects by their public identifier.

    The columns are a superset of `sharing.AuditRecord` (same names), so the
    access workflow's trail can be written here too; `action` is an open,
    dotted vocabulary (`<object>.<verb>`) that each app registers labels for
    in `portal.audit`.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id; empty when Pantry acted itself.")
    actor_username = models.CharField(max_length=150, blank=True)
    # How the actor reached Pantry: "web" (a signed-in page), "api" (a session
    # on the API), "token pantry_…" (a personal API token, by its public id),
    # "directory" (memberships following the IdP at sign-in), "system".
    via = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=32, db_index=True)
    object_id = models.CharField(max_length=2048)
    object_label = models.CharField(max_length=512, blank=True)
    # The AWS accounts the object belongs to / is about, for per-account
    # filtering: the account itself, a membership's or mapping's account, a
    # share's owner and consumer.
    owner_account_id = models.CharField(max_length=12, blank=True, db_index=True)
    consumer_account_id = models.CharField(max_length=12, blank=True, db_index=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["actor_username", "-at"], name="audit_actor_at"),
            # Free-text filter over labels ("who touched fraud-research?").
            GinIndex(fields=["object_label"], name="audit_label_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_label}"

    @property
    def actor_label(self) -> str:
        if self.actor_username:
            return self.actor_username
        return "Directory (at sign-in)" if self.via == "directory" else "Pantry (automatic)"

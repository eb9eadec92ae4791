"""The demo's trail sources: what an operator types into the trail source form, from the
sandbox manifest's `cloudtrail.trails` (docs/sandbox.md § CloudTrail)."""

from __future__ import annotations

from django.db import transaction

from usage.models import TrailSource


def demo_trail_sources_load(*, manifest: dict) -> int:
    """Create or update one source per trail of the manifest (idempotent). Returns how many."""
    section = manifest.get("cloudtrail") or {}
    count = 0
    with transaction.atomic():
        for trail in section.get("trails", []):
            organisation = bool(trail.get("organization"))
            TrailSource.objects.update_or_create(
                name=f"{trail['name']} ({trail['account_id']})",
                defaults={
                    "bucket": trail["bucket"],
                    "prefix": trail.get("prefix") or "",
                    "region": trail.get("home_region") or "eu-west-1",
                    "kind": TrailSource.Kind.ORGANISATION if organisation else TrailSource.Kind.ACCOUNT,
                    "organisation_id": section.get("organization_id", "") if organisation else "",
                    "account_id": trail["account_id"],
                    "role_arn": trail["role_arn"],
                    "external_id": trail.get("external_id") or "",
                    "enabled": True,
                },
            )
            count += 1
    return count

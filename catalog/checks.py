"""System checks for the catalog's settings (run by `manage.py check` and at startup)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register

from portal import aws


@register()
def sync_stale_threshold_check(app_configs, **kwargs) -> list[Warning]:
    """A heartbeat comes after every AWS call, so one slow call must not look like a dead worker."""
    worst = aws.worst_case_call_seconds()
    if settings.PANTRY_SYNC_STALE_SECONDS > worst:
        return []
    return [
        Warning(
            f"PANTRY_SYNC_STALE_SECONDS ({settings.PANTRY_SYNC_STALE_SECONDS}) is not above the longest one AWS call "
            f"can take with PANTRY_AWS_MAX_ATTEMPTS={settings.PANTRY_AWS_MAX_ATTEMPTS} ({worst} s): a slow but "
            "healthy sync could be abandoned as dead.",
            hint=f"Set PANTRY_SYNC_STALE_SECONDS to at least {worst + 60}.",
            id="catalog.W001",
        )
    ]

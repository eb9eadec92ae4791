"""Celery tasks of usage: take ids, call one service (docs/usage.md, "Workers")."""

from celery import shared_task
from django.conf import settings

from usage import services


@shared_task(name="usage.tasks.trail_sources_list")
def trail_sources_list() -> None:
    """Beat: list every enabled source, then queue ingestion for what is pending."""
    services.trail_sources_list()
    services.trail_files_ingest_request()


@shared_task(name="usage.tasks.trail_files_ingest", acks_late=True)
def trail_files_ingest() -> None:
    """Claim and ingest batches for a while. A worker killed here leaves its files claimed, and
    trail_claims_sweep gives them back; nothing of an unfinished batch was committed."""
    services.trail_files_ingest_for(seconds=settings.PANTRY_USAGE_INGEST_TASK_SECONDS)


@shared_task(name="usage.tasks.trail_files_replay")
def trail_files_replay(source_uuid: str, start: str, end: str) -> None:
    """An operator's replay (already audited when requested): re-queue and re-list the range."""
    import datetime as dt

    from usage.models import TrailSource

    source = TrailSource.objects.filter(uuid=source_uuid).first()
    if source is None:
        return
    services.trail_files_replay(
        actor=None, source=source, start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end)
    )
    services.trail_files_ingest_request()


@shared_task(name="usage.tasks.trail_claims_sweep")
def trail_claims_sweep() -> None:
    services.trail_claims_sweep()


@shared_task(name="usage.tasks.raw_events_prune")
def raw_events_prune() -> None:
    services.raw_events_prune()


@shared_task(name="usage.tasks.usage_groups_link")
def usage_groups_link() -> None:
    services.usage_groups_link()


@shared_task(name="usage.tasks.feature_groups_popularity_refresh")
def feature_groups_popularity_refresh() -> None:
    from usage.popularity import feature_groups_popularity_refresh as refresh

    refresh()

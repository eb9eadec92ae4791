"""Usage's Celery wiring: beat schedules every ingestion job, and each names a registered task."""

from __future__ import annotations


def test_beat_lists_sweeps_prunes_and_links_with_registered_tasks(settings):
    from portal.celery import app

    app.loader.import_default_modules()
    usage_entries = {
        e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].startswith("usage.")
    }
    assert usage_entries == {
        "usage.tasks.trail_sources_list": 30,
        "usage.tasks.trail_claims_sweep": 60,
        "usage.tasks.raw_events_prune": 3600,
        "usage.tasks.usage_groups_link": 600,
        "usage.tasks.feature_groups_popularity_refresh": 300,
    }
    for name in [*usage_entries, "usage.tasks.trail_files_ingest", "usage.tasks.trail_files_replay"]:
        assert name in app.tasks, name

"""The Celery app. Tasks live in each app's tasks.py and stay thin."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("pantry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Task outcomes and durations for Prometheus (portal/metrics.py).
from portal.metrics import celery_signals_connect  # noqa: E402
from portal.startup import startup_objects_freeze  # noqa: E402

celery_signals_connect()


@signals.worker_process_init.connect(weak=False)  # each prefork child
@signals.worker_ready.connect(weak=False)  # the main process (solo and threads pools run tasks there)
def freeze_startup_objects(**kwargs) -> None:
    """Keep what the worker loaded to start out of the GC's full collections (portal/startup.py)."""
    startup_objects_freeze()

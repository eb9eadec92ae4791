"""The Celery app. Tasks live in each app's tasks.py and stay thin."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("pantry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Task outcomes and durations for Prometheus (portal/metrics.py).
from portal.metrics import celery_signals_connect  # noqa: E402

celery_signals_connect()

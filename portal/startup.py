"""What a web or Celery worker does once it has loaded the app (gunicorn.conf.py, portal/celery.py)."""

from __future__ import annotations

import gc


def startup_objects_freeze() -> None:
    """Collect once, then freeze what is left: everything the worker loaded to start (Django, the
    URLconf and its views, the tasks' modules, botocore's models; ~155,000 objects) lives as long
    as the worker, and Python's full collection scanned it all whenever it ran, ~45 ms added to
    whichever request or task it landed on (docs/deploy.md#gunicorn). Frozen, it is left out."""
    gc.collect()
    gc.freeze()

"""Session-wide setup that must happen before any test process imports Django.

On a machine with no CELERY_BROKER_URL, `make test` uses the embedded Redis:
the controller process starts it once (xdist workers find it running) and
stops it at the end. The embedded PostgreSQL is started by the settings
module itself and shared by every worker.
"""

from __future__ import annotations

import os
import subprocess

pytest_plugins = ["tests.aws_fixtures", "tests.browser", "tests.oidc_provider"]

_redis: subprocess.Popen | None = None


def pytest_configure(config) -> None:
    global _redis
    if os.environ.get("CELERY_BROKER_URL") or hasattr(config, "workerinput"):
        return
    from portal import embedded

    _redis = embedded.redis_start(embedded.data_dir_from_env())


def pytest_unconfigure(config) -> None:
    if _redis is not None and _redis.poll() is None:
        _redis.terminate()
        _redis.wait(timeout=10)

"""gunicorn settings for Pantry's web process (docs/deploy.md).

    gunicorn -c gunicorn.conf.py portal.wsgi:application

Every value can be overridden by environment variables (below) or by
gunicorn's own `GUNICORN_CMD_ARGS`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _cores() -> int:
    # The CPUs this container may use (cgroup affinity), not the host's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


wsgi_app = "portal.wsgi:application"
bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - inside a container, behind the proxy
# Threaded workers (gthread): a request waiting on PostgreSQL lets another thread of the process
# run, so a few processes keep the CPUs busy. One process per CPU (at least two, so one busy or
# restarting process never stops the site) × 6 threads measured best on 2 cores under bench/load.py
# (docs/deploy.md#gunicorn). WEB_CONCURRENCY overrides the processes (the usual platform
# convention), GUNICORN_THREADS the threads, GUNICORN_WORKER_CLASS the class (`sync`: one request
# per process, as before).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, _cores()))
# gunicorn turns a `sync` worker with more than one thread into gthread: `sync` means one thread.
threads = int(os.environ.get("GUNICORN_THREADS") or (1 if worker_class == "sync" else 6))
# A request slower than this is killed and logged (the API's slowest reads take well under 1 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy, a scale-in) workers finish the requests in hand for this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))  # above the proxy's idle timeout to the upstream
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory, not on a container's overlay disk (a slow disk looks like a hung worker).
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# The proxy's address(es), whose X-Forwarded-* headers gunicorn believes (comma-separated, * for any).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs: JSON lines on stdout/stderr (portal/logs.py), the access log included.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "portal.logs.GunicornJsonLogger"

# Prometheus multiprocess mode: each worker writes its metrics to files under this folder and
# /metrics adds them up (portal/metrics.py). The folder must be empty when the server starts.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server) -> None:
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
        Path(_metrics_dir).mkdir(parents=True, exist_ok=True)


def post_worker_init(worker) -> None:
    # Load what a first request would (the URLconf imports every view module), then leave it all
    # out of Python's full collections (portal/startup.py).
    from django.urls import get_resolver

    from portal.startup import startup_objects_freeze

    get_resolver().reverse_dict  # noqa: B018 - imports every view module and builds the reverse map
    startup_objects_freeze()


def child_exit(server, worker) -> None:
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

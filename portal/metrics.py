"""Prometheus metrics at /metrics (docs/deploy.md#metrics).

- `pantry_http_request_duration_seconds{route, method, status}`: every request,
  labelled by URL name (never the raw path, so ids cannot blow up the series).
- `pantry_celery_tasks_total{task, outcome}` and
  `pantry_celery_task_duration_seconds{task}`: from Celery's signals in the
  worker processes (served by the worker itself, see `worker_metrics_serve`).
- `pantry_lag_seconds{source, account, region}`: how far behind each data feed
  is, computed at scrape time from the database by the functions listed in
  `PANTRY_LAG_SOURCES` (dotted paths; `sync` is the catalog sync's, seconds since
  each account/region's last successful sync). Another feed (usage ingestion)
  adds its own by appending a function to that setting or calling
  `lag_source_register` - no change here.

Under gunicorn, set `PROMETHEUS_MULTIPROC_DIR` (gunicorn.conf.py empties it at
start and cleans up after dead workers): every worker writes its samples there
and a scrape adds them up, whichever worker answers.

Access: with `PANTRY_METRICS_TOKEN` set, /metrics wants
`Authorization: Bearer <token>`; without it, /metrics answers only requests
from loopback or private addresses that did not come through a proxy (no
`X-Forwarded-For`, `Forwarded` or `X-Real-IP`). Anything else gets a 404, as if there were no such page.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.module_loading import import_string
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Every process with the variable writes its samples there (gunicorn.conf.py empties it for the
    # web server); Celery and one-off commands only need it to exist.
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

REQUEST_LATENCY = Histogram(
    "pantry_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL name, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0),
)
TASKS = Counter(
    "pantry_celery_tasks", "Celery task outcomes (succeeded, failed, retried, rejected, revoked).", ["task", "outcome"]
)
TASK_DURATION = Histogram(
    "pantry_celery_task_duration_seconds",
    "Celery task run time.",
    ["task"],
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800),
)


# --- lag sources ----------------------------------------------------------------------------------

LagSource = Callable[[], Iterable[tuple[dict[str, str], float]]]
_registered: dict[str, LagSource] = {}


def lag_source_register(name: str, source: LagSource) -> None:
    """Add a feed whose lag /metrics reports: `source()` yields `({"account": ..., ...}, seconds)`."""
    _registered[name] = source


def lag_sources() -> dict[str, LagSource]:
    sources = {}
    for entry in settings.PANTRY_LAG_SOURCES:  # "name=dotted.path.to.function"
        name, _, dotted = entry.partition("=")
        sources[name.strip()] = import_string(dotted.strip())
    return {**sources, **_registered}


def sync_lag() -> Iterable[tuple[dict[str, str], float]]:
    """Seconds since each syncing account/region last synced successfully (never synced: since it was added)."""
    from catalog.models import AwsAccount, SyncState

    now = timezone.now()
    accounts = AwsAccount.objects.exclude(kind=AwsAccount.Kind.CONSUMER).filter(sync_enabled=True)
    states = {
        (s.account_id, s.region): s.last_success_at
        for s in SyncState.objects.filter(account__in=accounts).only("account_id", "region", "last_success_at")
    }
    for account in accounts.only("id", "account_id", "regions", "created_at"):
        for region in account.regions:
            since: datetime = states.get((account.id, region)) or account.created_at
            yield {"account": account.account_id, "region": region}, max(0.0, (now - since).total_seconds())


class LagCollector:
    """Computed at scrape time (a database read), never stored in the multiprocess files."""

    def collect(self):
        family = GaugeMetricFamily(
            "pantry_lag_seconds",
            "How far behind each data feed is, per account and region (seconds).",
            labels=["source", "account", "region"],
        )
        for name, source in lag_sources().items():
            try:
                for labels, seconds in source():
                    family.add_metric([name, labels.get("account", ""), labels.get("region", "")], seconds)
            except Exception as exc:  # noqa: BLE001 - one broken feed must not hide the others
                logger.warning("metrics: lag source %s failed: %s", name, type(exc).__name__)
        yield family


# --- exposition -------------------------------------------------------------------------------------


def metrics_payload() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        own = generate_latest(REGISTRY)
    lag = CollectorRegistry()
    lag.register(LagCollector())
    return own + generate_latest(lag)


def _internal(request: HttpRequest) -> bool:
    if any(request.META.get(h) for h in PROXY_HEADERS):
        return False  # came through a proxy (whichever forwarding header it sets)
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


# Headers a reverse proxy adds: their presence means the caller is not an internal scraper.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.PANTRY_METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return _internal(request)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    if not metrics_allowed(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    response = HttpResponse(metrics_payload(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# --- request latency ---------------------------------------------------------------------------------


class MetricsMiddleware:
    """Outermost middleware: times every request, labelled by URL name."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = getattr(request, "probe_route", None) or (match.view_name if match else "unmatched")
        REQUEST_LATENCY.labels(route=route, method=request.method, status=str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


# --- Celery ----------------------------------------------------------------------------------------------

_task_started: dict[str, float] = {}


def celery_signals_connect() -> None:
    """Count task outcomes and time tasks in the worker (called from portal/celery.py)."""
    from celery import signals

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id=None, task=None, **kwargs):
        _task_started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, **kwargs):
        started = _task_started.pop(task_id, None)
        if started is not None and task is not None:
            TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - started)

    @signals.task_success.connect(weak=False)
    def _success(sender=None, **kwargs):
        TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="succeeded").inc()

    @signals.task_failure.connect(weak=False)
    def _failure(sender=None, **kwargs):
        TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="failed").inc()

    @signals.task_retry.connect(weak=False)
    def _retry(sender=None, **kwargs):
        TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="retried").inc()

    @signals.task_rejected.connect(weak=False)
    def _rejected(message=None, **kwargs):
        name = (getattr(message, "headers", None) or {}).get("task", "unknown")
        TASKS.labels(task=name, outcome="rejected").inc()

    @signals.task_revoked.connect(weak=False)
    def _revoked(request=None, **kwargs):
        TASKS.labels(task=getattr(request, "task", None) or "unknown", outcome="revoked").inc()

    @signals.worker_init.connect(weak=False)
    def _serve(**kwargs):
        worker_metrics_serve()

    @signals.worker_process_shutdown.connect(weak=False)
    def _child_gone(pid=None, **kwargs):
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid or os.getpid())


def worker_metrics_serve() -> None:
    """A worker's own /metrics on PANTRY_WORKER_METRICS_PORT (its task outcomes live in its processes)."""
    port = settings.PANTRY_WORKER_METRICS_PORT
    if not port:
        return
    from prometheus_client import REGISTRY, start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=settings.PANTRY_WORKER_METRICS_ADDR, registry=registry)
    logger.info("worker metrics on %s:%s/metrics", settings.PANTRY_WORKER_METRICS_ADDR, port)

"""Health probes with a deadline: database, migrations, broker.

Each probe runs in a thread of its own and the caller waits at most
`PANTRY_HEALTH_TIMEOUT_SECONDS` (2 s) for all of them together: a broker that
accepts connections and never answers, or a database behind a dropped route,
makes the probe fail with `Timeout` instead of hanging the request (and the
orchestrator's probe, and a gunicorn worker). The probes also carry their own
socket timeouts, so a timed-out thread ends soon after.

Errors are reported by kind only: connection strings carry credentials and
must never reach a response.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

Probe = Callable[[float], dict]


def _database(timeout: float) -> dict:
    # A thread's own connection (Django's are per thread), closed afterwards.
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = %s", [int(timeout * 1000)])
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    finally:
        connection.close()


_migrated = False  # once every migration this code knows is applied, it stays so for this process


def _migrations(timeout: float) -> dict:
    global _migrated
    if _migrated:
        return {"ok": True}
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return {"ok": False, "error": "MigrationsPending", "pending": len(pending)}
        _migrated = True
        return {"ok": True}
    finally:
        connection.close()


def _broker(timeout: float) -> dict:
    from portal.celery import app

    url = settings.CELERY_BROKER_URL
    # A fresh connection to the configured broker, not a pooled one that may have been
    # healthy a minute ago; socket timeouts so a silent broker cannot hold the thread.
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    with app.connection(url, connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        conn.default_channel  # noqa: B018 - opens a channel: the broker has to answer, not just accept
    return {"ok": True, "transport": url.split("://", 1)[0]}


def _warm_up() -> None:
    """Import the Celery app and the broker's transport now, not inside the first probe's deadline.

    On a busy machine those imports alone can take longer than the 2 s a probe has.
    """
    try:
        from portal.celery import app

        with app.connection(settings.CELERY_BROKER_URL) as conn:
            conn.transport  # noqa: B018 - instantiating the transport imports its module; nothing connects
    except Exception as exc:  # noqa: BLE001 - the probe itself will report it
        logger.warning("health: broker transport unavailable: %s", type(exc).__name__)


_warm_up()

PROBES: dict[str, Probe] = {"database": _database, "migrations": _migrations, "broker": _broker}
HEALTH = ("database", "broker")
READINESS = ("database", "migrations", "broker")


def probes_run(names: tuple[str, ...], *, timeout: float | None = None) -> dict[str, dict]:
    """Run the named probes concurrently; every result is in within `timeout` seconds."""
    timeout = settings.PANTRY_HEALTH_TIMEOUT_SECONDS if timeout is None else timeout
    results: dict[str, dict] = {}
    threads = []
    for name in names:
        thread = threading.Thread(
            target=_run_one, args=(name, PROBES[name], timeout, results), name=f"health-{name}", daemon=True
        )
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            logger.warning("health: %s probe timed out after %.1f s", name, timeout)
    # Read each result once: a probe that finishes after the deadline is ignored.
    return {name: dict(results.get(name) or {"ok": False, "error": "Timeout"}) for name in names}


def _run_one(name: str, probe: Probe, timeout: float, results: dict) -> None:
    try:
        results[name] = probe(timeout)
    except Exception as exc:  # noqa: BLE001 - a probe reports, never raises
        # A silent service is a Timeout whichever clock ran out first: the deadline above, or the
        # probe's own socket timeout, which a client library wraps (kombu: OperationalError).
        error = "Timeout" if _timed_out(exc) else type(exc).__name__
        logger.warning("health: %s unavailable: %s", name, error)
        results[name] = {"ok": False, "error": error}


def _timed_out(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TimeoutError) or type(current).__name__ == "TimeoutError":
            return True
        current = current.__cause__ or current.__context__
    return False

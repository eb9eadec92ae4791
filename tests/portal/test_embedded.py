"""Embedded services start only when a command asks, and stop when their last user leaves."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from portal import embedded

ROOT = Path(__file__).resolve().parents[2]

# A process that takes a lease on the embedded services, says so, and lets go when its stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from portal import embedded
    lease = embedded.services_start(Path(sys.argv[1]), database=sys.argv[2] == "db", broker=True,
                                    configure_django=False)
    print("ready", flush=True)
    sys.stdin.read()
    """
)


@pytest.fixture
def data_dir():
    # Not pytest's tmp_path: as root, the embedded PostgreSQL runs as its own user, who must reach the folder.
    path = Path(tempfile.mkdtemp(prefix="pantry-emb-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    embedded.redis_stop(path)
    embedded.postgres_stop(path)
    shutil.rmtree(path, ignore_errors=True)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({"PANTRY_DATA_DIR": str(data_dir), "PANTRY_ENV": "development", "DEBUG": "true", **extra})
    return env


def _holder(data_dir: Path, *, database: bool = False) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir), "db" if database else "-"],
        cwd=ROOT,
        env=_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _let_go(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0


def test_importing_settings_starts_no_database_or_broker(data_dir):
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings'; django.setup();"
        "from django.conf import settings; print(settings.DATABASE_URL); print(settings.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(data_dir), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    database_url, broker_url = result.stdout.split()
    assert str(data_dir) in database_url and str(data_dir) in broker_url
    # Nothing was started, nothing was even created in the data folder.
    assert list(data_dir.iterdir()) == []
    assert not embedded.postgres_running(data_dir) and not embedded.redis_running(data_dir)


def test_production_without_database_url_fails_loudly_and_starts_nothing(data_dir):
    env = _env(data_dir, PANTRY_ENV="production", DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="pantry.example")
    env["CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/0"
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DATABASE_URL is required in production" in result.stderr
    env["DATABASE_URL"] = "postgresql://pantry@db.example/pantry"
    del env["CELERY_BROKER_URL"]
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "CELERY_BROKER_URL is required in production" in result.stderr
    assert list(data_dir.iterdir()) == []


def test_the_last_lease_holder_stops_the_server_the_first_one_started(data_dir):
    first = _holder(data_dir)
    assert embedded.redis_running(data_dir)
    second = _holder(data_dir)  # reuses the running server
    assert sorted(embedded.lease_holders(data_dir, "redis")) == sorted([first.pid, second.pid])

    _let_go(first)  # the starter leaves, but the second process still uses it
    assert embedded.redis_running(data_dir)
    assert embedded.lease_holders(data_dir, "redis") == [second.pid]

    _let_go(second)
    assert not embedded.redis_running(data_dir)
    assert embedded.lease_holders(data_dir, "redis") == []


def test_a_killed_holder_does_not_keep_the_server_alive(data_dir):
    first = _holder(data_dir)
    crashed = _holder(data_dir)
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=10)
    _let_go(first)
    assert not embedded.redis_running(data_dir)


def test_a_server_started_by_hand_is_used_but_never_stopped(data_dir):
    embedded.redis_start(data_dir)  # no lease: someone started it outside Pantry's commands
    _let_go(_holder(data_dir))
    assert embedded.redis_running(data_dir)


def test_embedded_postgres_starts_for_its_holder_and_stops_after_it(data_dir):
    holder = _holder(data_dir, database=True)
    assert embedded.postgres_running(data_dir)
    import psycopg

    with psycopg.connect(embedded.postgres_url(data_dir)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("pantry",)
    _let_go(holder)
    assert not embedded.postgres_running(data_dir)


def test_manage_py_embedded_holds_the_services_until_ctrl_c(data_dir):
    env = _env(data_dir, DATABASE_URL=os.environ["DATABASE_URL"])  # only the broker is embedded here
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "embedded"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    assert lines[0].startswith("export CELERY_BROKER_URL='redis+socket://")
    assert embedded.redis_running(data_dir)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert "Stopped: redis." in proc.stdout.read()
    assert not embedded.redis_running(data_dir)

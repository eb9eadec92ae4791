"""The production processes as docs/deploy.md runs them: gunicorn serving the real app (pages,
static files through WhiteNoise, probes, metrics, JSON access logs, graceful stop), and the
compose file, Procfile and Dockerfile describing the same processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def production_env(tmp_path, transactional_db):
    db = django_settings.DATABASES["default"]
    database_url = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "BEHIND_", "DEBUG", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        {
            "PANTRY_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": "gunicorn-smoke-" + "Zq8sW1xT" * 7,
            "ALLOWED_HOSTS": "pantry.example.com",
            "DATABASE_URL": database_url if db["HOST"] else os.environ["DATABASE_URL"],
            "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
            "STATIC_ROOT": str(tmp_path / "static"),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "WEB_CONCURRENCY": "2",
            "PORT": str(_free_port()),
            "BIND_HOST": "127.0.0.1",
        }
    )
    if not db["HOST"]:  # the embedded PostgreSQL: same socket, the test database's name
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("/pantry?", f"/{db['NAME']}?")
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stderr
    return env


@pytest.mark.integration
def test_gunicorn_serves_pages_static_files_probes_and_metrics_then_stops_gracefully(production_env, tmp_path):
    env = production_env
    base = f"http://127.0.0.1:{env['PORT']}"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if _get(base + "/livez")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)

        # Probes: plain HTTP, any Host (a pod IP), no redirect.
        status, _, body = _get(base + "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"]["migrations"] == {"ok": True}

        # A page, as the TLS proxy forwards it.
        proxied = {"Host": "pantry.example.com", "X-Forwarded-Proto": "https", "X-Request-ID": "smoke-req-0001"}
        status, headers, body = _get(base + "/accounts/login/", **proxied)
        assert status == 200
        assert b"Log in" in body
        assert "max-age=" in headers["Strict-Transport-Security"]
        assert "Secure" in headers["Set-Cookie"]
        # Straight to gunicorn over plain HTTP: sent to HTTPS.
        status, headers, _ = _get(base + "/accounts/login/", Host="pantry.example.com")
        assert status == 301 and headers["Location"].startswith("https://pantry.example.com/")

        # A static file under its hashed name, compressed and cached for ever by WhiteNoise.
        manifest = json.loads((Path(env["STATIC_ROOT"]) / "staticfiles.json").read_text())["paths"]
        hashed = manifest["pantry/pantry.js"]
        status, headers, body = _get(base + f"/static/{hashed}", **proxied)
        assert status == 200 and body
        assert "immutable" in headers["Cache-Control"]

        # Metrics add up every worker's samples (multiprocess mode).
        for _ in range(4):
            _get(base + "/accounts/login/", **proxied)
        status, _, body = _get(base + "/metrics")
        assert status == 200
        text = body.decode()
        login_count = next(
            line
            for line in text.splitlines()
            if line.startswith("pantry_http_request_duration_seconds_count") and 'route="login"' in line
        )
        assert float(login_count.rsplit(" ", 1)[1]) >= 5
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0  # graceful: the workers finished and the arbiter exited cleanly

    access = [json.loads(line) for line in log_path.read_text().splitlines() if '"gunicorn.access"' in line]
    login = next(entry for entry in access if entry["request_id"] == "smoke-req-0001")
    assert login["path"] == "/accounts/login/" and login["status"] == 200 and login["duration_ms"] >= 0
    other = [line for line in log_path.read_text().splitlines() if line.strip() and not line.startswith("{")]
    assert other == [], "every log line is a JSON object"


def test_compose_runs_the_documented_processes():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "migrate", "postgres", "redis"}
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"  # a one-shot release step
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"]["PANTRY_ENV"] == "production"
    assert services["web"]["command"] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]
    assert services["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")  # never a default secret


def test_procfile_has_the_same_processes():
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line and not line.startswith("#")
    )
    assert set(entries) == {"release", "web", "worker", "beat"}
    assert "manage.py migrate" in entries["release"]
    assert "gunicorn -c gunicorn.conf.py" in entries["web"]


def test_dockerfile_runs_as_a_non_root_user_and_bakes_in_no_secret():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    assert lines[0].startswith("#") or lines[0].startswith("FROM")
    assert any(line.startswith("FROM python:3.11-slim") for line in lines)
    user_at = max(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert lines[user_at] != "USER root"
    assert any("collectstatic" in line for line in lines[:user_at])
    env_lines = " ".join(line for line in lines if line.startswith("ENV") or line.startswith("ARG"))
    for secret in ("SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "PASSWORD", "DATABASE_URL"):
        assert secret not in env_lines


def test_gunicorn_workers_follow_the_cores(monkeypatch):
    import runpy

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("PORT", "9123")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == max(2, len(os.sched_getaffinity(0)))
    assert (config["worker_class"], config["threads"]) == ("gthread", 6)
    assert config["bind"].endswith(":9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 3


def test_gunicorn_sync_workers_take_one_request_at_a_time(monkeypatch):
    """gunicorn makes a `sync` worker with threads > 1 a gthread one: `sync` must mean one thread."""
    import runpy

    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"] == 1
    monkeypatch.setenv("GUNICORN_THREADS", "4")  # asked for explicitly: kept
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"] == 4


def test_env_example_documents_every_variable_settings_and_gunicorn_read():
    import re

    read = set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z0-9_]+)"', (ROOT / "portal/settings.py").read_text()))
    read |= set(re.findall(r'environ\.get\("([A-Z0-9_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    read |= {"PANTRY_DATA_DIR", "PROMETHEUS_MULTIPROC_DIR"}  # portal/embedded.py, portal/metrics.py
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert sorted(read - documented) == []


def test_web_and_celery_workers_freeze_what_they_loaded_at_start(monkeypatch):
    """A full GC collection scans every tracked object; the ~150,000 a loaded app holds made it
    cost ~45 ms on whichever request it landed. Both worker kinds freeze them once started."""
    import gc
    import runpy

    from celery import signals

    from portal.celery import freeze_startup_objects

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"](worker=None)
    assert frozen == [True]
    for started in (signals.worker_process_init, signals.worker_ready):
        assert freeze_startup_objects in started._live_receivers(sender=None), started

import socket
import threading
import time

import pytest
from django.test import override_settings

from portal import health
from tests.csp import assert_csp_clean


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_when_broker_is_down_and_hides_the_url(client, settings):
    dead = "redis://:s3cret-password@127.0.0.1:1/0"
    with override_settings(CELERY_BROKER_URL=dead):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert "s3cret" not in response.content.decode()


@pytest.fixture
def silent_broker():
    """A TCP server that accepts connections and never answers (a wedged broker or a dead proxy)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_broker_that_never_answers_gives_503_within_the_deadline(client, silent_broker, path):
    with override_settings(CELERY_BROKER_URL=silent_broker):
        started = time.monotonic()
        response = client.get(path)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "error": "Timeout"}
    assert response.json()["checks"]["database"] == {"ok": True}
    assert elapsed < 3.0


def test_a_broker_that_never_answers_is_a_timeout_even_when_its_socket_gives_up_first(silent_broker):
    """On a busy machine the probe's own socket timeout can fire before the deadline does."""
    results: dict = {}
    with override_settings(CELERY_BROKER_URL=silent_broker):
        health._run_one("broker", health._broker, 0.3, results)

    assert results["broker"] == {"ok": False, "error": "Timeout"}


def test_a_refused_connection_is_not_called_a_timeout():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        results: dict = {}
        with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0"):
            health._run_one("broker", health._broker, 0.5, results)

    assert results["broker"]["ok"] is False
    assert results["broker"]["error"] != "Timeout"
    assert results["broker"]["error"] == "OperationalError"  # kombu's wrapping of the refusal


@pytest.mark.django_db
def test_livez_answers_without_touching_database_or_broker(client, silent_broker, django_assert_num_queries):
    with override_settings(CELERY_BROKER_URL=silent_broker), django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_migrations_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": True} and checks["migrations"] == {"ok": True}
    assert checks["broker"]["ok"] is True
    assert checks["broker"]["transport"].startswith("redis")  # redis, or redis+socket when embedded


@pytest.mark.django_db
def test_readyz_is_503_while_migrations_are_pending(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    from portal import health

    monkeypatch.setattr(health, "_migrated", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("catalog", "9999_future")])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {"ok": False, "error": "MigrationsPending", "pending": 1}


def test_login_page_renders_without_inline_scripts(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_csp_clean(html)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]

"""Prometheus metrics: request latency by route, Celery outcomes, lag per account, and who may read them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import SyncState
from portal import metrics
from tests.factories import AwsAccountFactory


def _samples(body: bytes) -> list:
    return [s for family in text_string_to_metric_families(body.decode()) for s in family.samples]


def _value(samples, name: str, **labels) -> float | None:
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


@pytest.mark.django_db
def test_request_latency_is_counted_by_route_name_not_path(client, owner):
    client.force_login(owner)
    # The counters are per process and other tests count requests too: compare with before.
    count = "pantry_http_request_duration_seconds_count"
    before = _value(_samples(client.get("/metrics").content), count, route="home", method="GET", status="200") or 0
    client.get("/")
    client.get("/catalog/")
    samples = _samples(client.get("/metrics").content)
    assert _value(samples, "pantry_http_request_duration_seconds_count", route="home", method="GET", status="200")
    assert _value(samples, count, route="home", method="GET", status="200") == before + 1
    assert _value(samples, "pantry_http_request_duration_seconds_bucket", route="catalog:catalog_list", le="+Inf")
    assert not any("/catalog/" in s.labels.get("route", "") for s in samples)


@pytest.mark.django_db
def test_sync_lag_per_account_and_region(client):
    synced = AwsAccountFactory(account_id="123456789012", regions=["eu-west-1", "us-east-1"])
    SyncState.objects.create(account=synced, region="eu-west-1", last_success_at=timezone.now() - timedelta(minutes=90))
    samples = _samples(client.get("/metrics").content)
    lag = _value(samples, "pantry_lag_seconds", source="sync", account="123456789012", region="eu-west-1")
    assert 90 * 60 <= lag < 92 * 60
    # A region never synced lags since the account was registered.
    assert _value(samples, "pantry_lag_seconds", source="sync", account="123456789012", region="us-east-1") < 60


def lag_of_a_future_feed():
    yield {"account": "210987654321", "region": "eu-west-1"}, 42.0


def broken_feed():
    raise RuntimeError("the feed's table is missing")


@pytest.mark.django_db
def test_another_feed_adds_its_lag_through_the_setting_and_a_broken_one_hides_nothing(client, settings):
    settings.PANTRY_LAG_SOURCES = [
        "sync=portal.metrics.sync_lag",
        "usage_ingest=tests.portal.test_metrics.lag_of_a_future_feed",
        "broken=tests.portal.test_metrics.broken_feed",
    ]
    samples = _samples(client.get("/metrics").content)
    assert _value(samples, "pantry_lag_seconds", source="usage_ingest", account="210987654321") == 42.0


@pytest.mark.django_db
def test_a_registered_lag_source_is_reported(client, monkeypatch):
    monkeypatch.setattr(metrics, "_registered", {})
    metrics.lag_source_register("cloudtrail", lambda: [({"account": "333333333333", "region": "eu-west-1"}, 7.0)])
    samples = _samples(client.get("/metrics").content)
    assert _value(samples, "pantry_lag_seconds", source="cloudtrail", account="333333333333") == 7.0


def test_celery_task_outcomes_are_counted(settings):
    from portal.celery import app

    @app.task(name="tests.metrics.ok")
    def ok():
        return 1

    @app.task(name="tests.metrics.boom")
    def boom():
        raise ValueError("boom")

    before_ok = metrics.TASKS.labels(task="tests.metrics.ok", outcome="succeeded")._value.get()
    before_failed = metrics.TASKS.labels(task="tests.metrics.boom", outcome="failed")._value.get()
    ok.apply()
    boom.apply()
    assert metrics.TASKS.labels(task="tests.metrics.ok", outcome="succeeded")._value.get() == before_ok + 1
    assert metrics.TASKS.labels(task="tests.metrics.boom", outcome="failed")._value.get() == before_failed + 1
    assert metrics.TASK_DURATION.labels(task="tests.metrics.ok")._sum.get() > 0


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_set(client, settings):
    settings.PANTRY_METRICS_TOKEN = "scrape-me-9f8e7d"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-9f8e7d")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_without_a_token_metrics_answer_only_internal_callers_not_behind_the_proxy(client, settings):
    settings.PANTRY_METRICS_TOKEN = None
    assert client.get("/metrics", REMOTE_ADDR="10.0.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="93.184.216.34").status_code == 404
    # Through the public proxy (which adds X-Forwarded-For) even a private peer address is refused.
    assert client.get("/metrics", REMOTE_ADDR="10.0.3.4", HTTP_X_FORWARDED_FOR="93.184.216.34").status_code == 404
    # Whichever forwarding header the proxy sets.
    assert client.get("/metrics", REMOTE_ADDR="10.0.3.4", HTTP_FORWARDED="for=93.184.216.34").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.0.3.4", HTTP_X_REAL_IP="93.184.216.34").status_code == 404


def test_a_worker_serves_its_own_task_metrics_when_given_a_port(settings):
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.PANTRY_WORKER_METRICS_PORT = port
    settings.PANTRY_WORKER_METRICS_ADDR = "127.0.0.1"
    metrics.TASKS.labels(task="tests.metrics.served", outcome="succeeded").inc()
    metrics.worker_metrics_serve()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    assert _value(_samples(body), "pantry_celery_tasks_total", task="tests.metrics.served") == 1.0

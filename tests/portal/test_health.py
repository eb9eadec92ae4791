import pytest
from django.test import override_settings

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


def test_login_page_renders_without_inline_scripts(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_csp_clean(html)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]

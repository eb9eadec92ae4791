"""Logs are JSON lines with the request id, and never carry a secret."""

from __future__ import annotations

import io
import json
import logging

import pytest

from portal.logs import JsonFormatter, RequestIdFilter, scrub

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6exampleSessionToken"
PANTRY_TOKEN = "pantry_AbCdEfGhIjKl" + "s3cr3tPartOfTheToken0123456789abcdefghij"


@pytest.fixture
def json_logs():
    """Every log record of the test, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _secrets(settings) -> list[str]:
    return [AWS_KEY_ID, AWS_SECRET, SESSION_TOKEN, PANTRY_TOKEN, "s3cr3tPartOfTheToken", settings.SECRET_KEY, "hunter2"]


@pytest.mark.django_db
def test_a_request_with_a_bearer_token_and_credentials_logs_none_of_them(client, json_logs, settings):
    settings.SECRET_KEY = "a-very-secret-key-for-this-test-" + "q" * 30
    response = client.get(
        "/api/v1/accounts/?password=hunter2",
        HTTP_AUTHORIZATION=f"Bearer {PANTRY_TOKEN}",
        HTTP_X_REQUEST_ID="req-12345678",
    )
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "req-12345678"
    log = logging.getLogger("pantry.test")
    # What careless code might log about a request and an AWS call.
    log.warning(
        "calling AWS for %s with Authorization: Bearer %s",
        "/api/v1/accounts/",
        PANTRY_TOKEN,
        extra={
            "headers": {"Authorization": f"Bearer {PANTRY_TOKEN}", "Accept": "application/json"},
            "credentials": {"AccessKeyId": AWS_KEY_ID, "SecretAccessKey": AWS_SECRET, "SessionToken": SESSION_TOKEN},
            "database": "postgresql://pantry:hunter2@db.example.com/pantry",
        },
    )
    log.error("boto said: aws_secret_access_key=%s aws_session_token=%s key %s", AWS_SECRET, SESSION_TOKEN, AWS_KEY_ID)
    log.error("settings dump: SECRET_KEY=%s", settings.SECRET_KEY)
    try:
        raise RuntimeError(f"AssumeRole failed for {AWS_KEY_ID} / {AWS_SECRET}")
    except RuntimeError:
        log.exception("sync failed")

    text = json_logs.getvalue()
    lines = _lines(json_logs)
    assert len(lines) >= 5  # one JSON object per line, Django's own 401 warning included
    for secret in _secrets(settings):
        assert secret not in text, secret
    unauthorised = next(line for line in lines if line["logger"] == "django.request")
    assert unauthorised["request_id"] == "req-12345678"
    assert unauthorised["level"] == "WARNING"
    extra = next(line for line in lines if "headers" in line)
    assert extra["headers"]["Accept"] == "application/json"  # the rest of the context survives
    assert extra["credentials"] == "[redacted]"
    assert "db.example.com" in extra["database"]


def test_scrub_keeps_ordinary_text():
    text = "Synced 40 feature groups in account 111111111111 (eu-west-1) in 2.3 s"
    assert scrub(text) == text


def test_a_malformed_request_id_from_outside_is_replaced(client, db):
    response = client.get("/livez", HTTP_X_REQUEST_ID="bad id\nwith a newline")
    assert response.headers["X-Request-ID"] != "bad id\nwith a newline"
    assert len(response.headers["X-Request-ID"]) == 32


def test_error_reports_hide_the_authorization_header_and_credentials(rf):
    from portal.logs import PantryExceptionReporterFilter

    request = rf.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {PANTRY_TOKEN}", HTTP_X_AMZ_SECURITY_TOKEN=SESSION_TOKEN)
    meta = PantryExceptionReporterFilter().get_safe_request_meta(request)
    assert PANTRY_TOKEN not in str(meta) and SESSION_TOKEN not in str(meta)
    assert meta["HTTP_AUTHORIZATION"] == PantryExceptionReporterFilter.cleansed_substitute

"""Web hardening a user (or an attacker) notices: sign-in lockout, session expiry, API limits,
the schema behind sign-in, and production settings that pass `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rest_framework.throttling import SimpleRateThrottle

from portal import sessions
from tests.factories import FeatureGroupFactory, api_token_issue

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def _sign_in(client, username: str, password: str, ip: str = "10.0.0.5", **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


# --- sign-in throttling (django-axes) ---------------------------------------------------------


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_username_from_that_address_even_with_the_right_one(client, owner, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert _sign_in(client, "omar", "wrong").status_code == 200  # the form again, with its error
    assert _sign_in(client, "omar", "wrong").status_code == 429  # the fifth: locked from now on
    locked = _sign_in(client, "omar", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by someone else's guesses.
    assert _sign_in(client, "omar", PASSWORD, ip="10.0.0.99").status_code == 302


@pytest.mark.django_db
def test_lockout_counts_the_client_address_the_trusted_proxy_saw(client, owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_COUNT = 1
    # Behind one proxy, the client is the right-most X-Forwarded-For entry; the peer is the proxy.
    for _ in range(2):
        _sign_in(client, "omar", "wrong", ip="10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    # What the client wrote further left is not believed: changing it does not escape the lockout.
    assert (
        _sign_in(client, "omar", PASSWORD, ip="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7").status_code
        == 429
    )
    # The same proxy forwarding another client: not locked.
    assert _sign_in(client, "omar", PASSWORD, ip="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_failure_count(client, owner, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        _sign_in(client, "omar", "wrong")
    assert _sign_in(client, "omar", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        _sign_in(client, "omar", "wrong")
    assert _sign_in(client, "omar", PASSWORD).status_code == 302


# --- session expiry -------------------------------------------------------------------------------


def _age_session(client, *, seen_ago: int, signed_in_ago: int) -> None:
    session = client.session
    now = int(time.time())
    session[sessions.SEEN_AT] = now - seen_ago
    session[sessions.SIGNED_IN_AT] = now - signed_in_ago
    session.save()


@pytest.mark.django_db
def test_an_idle_session_ends_and_the_next_page_asks_to_sign_in(client, owner, settings):
    settings.PANTRY_SESSION_IDLE_SECONDS = 1800
    client.force_login(owner)
    assert client.get("/").status_code == 200
    _age_session(client, seen_ago=1801, signed_in_ago=1801)
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_active_session_still_ends_at_the_absolute_limit(client, owner, settings):
    settings.PANTRY_SESSION_ABSOLUTE_SECONDS = 12 * 3600
    client.force_login(owner)
    _age_session(client, seen_ago=5, signed_in_ago=12 * 3600 + 1)
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_activity_keeps_a_session_alive_within_both_limits(client, owner):
    client.force_login(owner)
    _age_session(client, seen_ago=600, signed_in_ago=3600)
    assert client.get("/").status_code == 200
    assert time.time() - client.session[sessions.SEEN_AT] < 5  # the idle clock restarted


# --- API throttling, error bodies, pagination caps --------------------------------------------------


@pytest.fixture
def tight_rates(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"person": "3/minute", "token": "2/minute"})


@pytest.mark.django_db
def test_each_token_has_its_own_rate_and_a_429_says_when_to_retry(client, owner, tight_rates):
    first, second = api_token_issue(owner, name="etl"), api_token_issue(owner, name="notebook")
    for _ in range(2):
        assert client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 200
    throttled = client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {first}")
    assert throttled.status_code == 429
    assert set(throttled.json()) == {"detail"}  # the API's one error shape
    assert int(throttled.headers["Retry-After"]) > 0
    # The owner's other token, and the owner in the browser, are counted apart.
    assert client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    client.force_login(owner)
    assert client.get("/api/v1/accounts/").status_code == 200


@pytest.mark.django_db
def test_a_signed_in_person_is_throttled_across_their_requests(client, owner, tight_rates):
    client.force_login(owner)
    statuses = [client.get("/api/v1/accounts/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_page_size_is_capped(client, org, owner, settings):
    settings.PANTRY_API_MAX_PAGE_SIZE = 2
    for name in ("a_group", "b_group", "c_group"):
        FeatureGroupFactory(account=org.central, name=name)
    client.force_login(owner)
    body = client.get("/api/v1/feature-groups/?page_size=1000").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert len(client.get("/api/v1/feature-groups/?page_size=1").json()["results"]) == 1


# --- the schema and its docs behind sign-in -------------------------------------------------------


@pytest.mark.django_db
def test_api_schema_and_docs_need_sign_in(client, owner):
    anonymous = client.get("/api/schema/")
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"detail"}
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs.url.startswith("/accounts/login/")
    token = api_token_issue(owner, scope="read")
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    client.force_login(owner)
    assert client.get("/api/docs/").status_code == 200


# --- production settings ------------------------------------------------------------------------------


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "BEHIND_", "DJANGO_ALLOW_ASYNC"))}
    env.update(
        {
            "PANTRY_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": "k3y-" + "x7Qp2rL9" * 8,
            "ALLOWED_HOSTS": "pantry.example.com",
            **extra,
        }
    )
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_production_turns_https_off():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W004" in result.stderr


@pytest.mark.django_db
def test_production_redirects_to_https_unless_the_proxy_says_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain.url.startswith("https://")
    proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert "max-age=31536000" in proxied.headers["Strict-Transport-Security"]
    # Probes reach a pod by IP over plain HTTP: no redirect, no Host check.
    assert client.get("/livez", HTTP_HOST="10.1.2.3:8000").status_code == 200


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "", "١٢"])
def test_a_page_size_that_is_not_a_whole_number_is_400(client, org, owner, value):
    """It used to give a page of the default size, as if the parameter had been read."""
    client.force_login(owner)
    response = client.get(f"/api/v1/feature-groups/?page_size={value}")
    assert response.status_code == 400
    assert "page_size" in response.json()

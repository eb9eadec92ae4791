"""Personal API tokens: issued once, stored hashed, scoped, expiring, revocable, use recorded without a write per call."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from identity.models import ApiToken
from portal.models import AuditEvent
from tests.factories import api_token_issue

pytestmark = pytest.mark.django_db
TOKEN_RE = re.compile(r"pantry_[A-Za-z0-9]{52}")
API = "/api/v1/accounts/"


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def create_through_the_page(client, *, name="airflow lineage", scope="write", days=30) -> str:
    form = client.get(reverse("identity:token_create"))
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.content.decode()).group(1)
    response = client.post(
        reverse("identity:token_create"),
        {
            "nonce": nonce,
            "name": name,
            "scope": scope,
            "expires_on": (timezone.now().date() + timedelta(days=days)).isoformat(),
        },
    )
    assert response.status_code == 200, response.content[:500]
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    return TOKEN_RE.search(response.content.decode()).group(0)


def test_a_token_is_shown_once_stored_only_as_a_hash_and_listed_without_it(client, owner):
    client.force_login(owner)
    secret = create_through_the_page(client)
    token = ApiToken.objects.get(user=owner)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    listing = client.get(reverse("identity:token_list")).content.decode()
    assert "airflow lineage" in listing and token.display_id in listing and secret not in listing
    assert not TOKEN_RE.search(listing)
    # The audit log records the issue, never the secret.
    event = AuditEvent.objects.get(action="token.created")
    assert event.actor_username == "omar" and secret not in str(event.after) and event.after["scope"] == "write"


def test_resubmitting_the_create_form_does_not_issue_a_second_token(client, owner):
    client.force_login(owner)
    form = client.get(reverse("identity:token_create"))
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.content.decode()).group(1)
    data = {
        "nonce": nonce,
        "name": "x",
        "scope": "read",
        "expires_on": (timezone.now().date() + timedelta(days=3)).isoformat(),
    }
    assert client.post(reverse("identity:token_create"), data).status_code == 200
    again = client.post(reverse("identity:token_create"), data)
    assert again.status_code == 302 and again["Location"] == reverse("identity:token_list")
    assert ApiToken.objects.filter(user=owner).count() == 1


@pytest.mark.parametrize(
    "days, message",
    [(0, "Choose a day after today."), (-5, "Choose a day after today."), (366, "at most 365 days")],
)
def test_expiry_is_required_in_the_future_and_capped(client, owner, days, message):
    client.force_login(owner)
    form = client.get(reverse("identity:token_create"))
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.content.decode()).group(1)
    response = client.post(
        reverse("identity:token_create"),
        {
            "nonce": nonce,
            "name": "x",
            "scope": "read",
            "expires_on": (timezone.now().date() + timedelta(days=days)).isoformat(),
        },
    )
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()
    missing = client.post(reverse("identity:token_create"), {"nonce": nonce, "name": "x", "scope": "read"})
    assert "This field is required" in missing.content.decode()


def test_the_cap_follows_the_setting(client, owner, settings):
    settings.PANTRY_TOKEN_MAX_DAYS = 30
    client.force_login(owner)
    form = client.get(reverse("identity:token_create")).content.decode()
    assert f'max="{(timezone.now().date() + timedelta(days=30)).isoformat()}"' in form


def test_read_tokens_read_and_are_refused_on_writes(owner, operator):
    read = api_token_issue(operator, scope="read")
    assert api(read).get(API).status_code == 200
    response = api(read).post(API, {"name": "x"}, format="json")
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    write = api_token_issue(operator, scope="write")
    # A write token gets as far as validation: the write itself is allowed.
    assert api(write).post(API, {"name": "x"}, format="json").status_code == 400


def test_expired_revoked_unknown_and_deactivated_tokens_get_401(owner):
    secret = api_token_issue(owner)
    token = ApiToken.objects.get(user=owner)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api(secret).get(API)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")

    secret = api_token_issue(owner)
    token = ApiToken.objects.filter(user=owner).latest("created_at")
    from identity.services.tokens import api_token_revoke

    api_token_revoke(token=token, actor=owner)
    assert api(secret).get(API).status_code == 401

    tampered = api_token_issue(owner)
    forged = tampered[:-1] + ("a" if tampered[-1] != "a" else "b")
    assert api(forged).get(API).status_code == 401
    assert api("pantry_short").get(API).status_code == 401

    active = api_token_issue(owner)
    owner.is_active = False
    owner.save()
    assert api(active).get(API).status_code == 401


def test_last_use_is_recorded_at_most_once_per_interval(owner, django_assert_max_num_queries, settings):
    settings.PANTRY_TOKEN_LAST_USED_INTERVAL_SECONDS = 300
    secret = api_token_issue(owner, scope="read")
    token = ApiToken.objects.get(user=owner)
    assert token.last_used_at is None
    api(secret).get(API)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_ip == "127.0.0.1"
    api(secret).get(API)
    token.refresh_from_db()
    assert token.last_used_at == first  # within the interval: no write
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(seconds=301))
    api(secret).get(API)
    token.refresh_from_db()
    assert token.last_used_at > first


def test_people_revoke_their_own_tokens_and_cannot_see_others(client, owner, outsider):
    api_token_issue(owner, name="mine")
    token = ApiToken.objects.get(user=owner)
    client.force_login(outsider)
    assert client.post(reverse("identity:token_revoke", args=[token.uuid])).status_code == 404
    assert "mine" not in client.get(reverse("identity:token_list")).content.decode()
    assert client.get(reverse("identity:token_all")).status_code == 403
    client.force_login(owner)
    assert client.post(reverse("identity:token_revoke", args=[token.uuid])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == owner
    # Revoking twice changes nothing and writes one audit row.
    client.post(reverse("identity:token_revoke", args=[token.uuid]))
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_operators_see_and_revoke_anyones_tokens_audited(client, owner, operator):
    secret = api_token_issue(owner, name="owner's script")
    token = ApiToken.objects.get(user=owner)
    client.force_login(operator)
    page = client.get(reverse("identity:token_all")).content.decode()
    assert "owner&#x27;s script" in page and token.display_id in page and secret not in page
    client.post(reverse("identity:token_revoke", args=[token.uuid]))
    assert api(secret).get(API).status_code == 401
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor_username, event.object_id) == ("otto", token.display_id)
    assert event.before["owner"] == "omar"


def test_an_api_change_made_with_a_token_names_the_token_in_the_audit_log(operator, org):
    secret = api_token_issue(operator, scope="write")
    token = ApiToken.objects.get(user=operator)
    response = api(secret).post(f"{API}{org.central.uuid}/sync/", {}, format="json")
    assert response.status_code == 202
    event = AuditEvent.objects.get(action="sync.requested")
    assert event.actor_username == "otto" and event.via == f"token {token.display_id}"

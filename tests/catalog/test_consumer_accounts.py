"""Consumer-only accounts hold no feature groups, so Pantry does not sync them: their pages say
so instead of "never synced" under a sync schedule, and no button or API call queues a sync."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import SyncRun

pytestmark = pytest.mark.django_db

NOT_SYNCED = "Not synced: a consumer account holds no feature groups of its own."


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("persona", ["operator", "consumer_admin", "data_scientist", "governance"])
def test_consumer_account_page_says_it_is_not_synced(request, client, org, persona):
    client.force_login(request.getfixturevalue(persona))
    text = _text(_html(client.get(org.consumer.get_absolute_url())))
    assert NOT_SYNCED in text
    assert "never synced" not in text.lower()
    assert "every 60 minutes" not in text  # no schedule for something never scheduled
    assert "Sync health" not in text
    assert "Sync now" not in text


def test_owner_account_page_still_shows_its_schedule_and_health(client, operator, org):
    client.force_login(operator)
    text = _text(_html(client.get(org.central.get_absolute_url())))
    assert "Scheduled sync every 60 minutes" in text
    assert "never synced" in text
    assert "Sync now" in text
    assert NOT_SYNCED not in text


def test_account_list_row_of_a_consumer_account_says_not_synced(client, operator, org):
    client.force_login(operator)
    html = _html(client.get(reverse("catalog:account_list")))
    row = re.search(r"<tr>(?:(?!</tr>).)*fraud-research(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    assert NOT_SYNCED in _text(row)
    assert "never" not in _text(row).lower()
    owner_row = re.search(r"<tr>(?:(?!</tr>).)*central-feature-store(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    assert "never" in _text(owner_row)


def test_home_page_says_nothing_about_syncing_a_consumer_account(client, consumer_admin, org):
    client.force_login(consumer_admin)
    text = _text(_html(client.get(reverse("home")))).lower()
    assert "fraud-research" in text
    assert "never synced" not in text and "never" not in text


def test_sync_of_a_consumer_account_is_refused_on_the_page_and_in_the_api(client, operator, org):
    client.force_login(operator)
    response = client.post(reverse("catalog:account_sync", args=[org.consumer.uuid]), follow=True)
    assert "Consumer accounts hold no feature groups" in _text(_html(response))
    api = APIClient()
    api.force_authenticate(operator)
    refused = api.post(f"/api/v1/accounts/{org.consumer.uuid}/sync/")
    assert refused.status_code == 400
    assert "Consumer accounts hold no feature groups" in str(refused.json())
    assert not SyncRun.objects.filter(account=org.consumer).exists()
    # An owner account still syncs from both.
    assert api.post(f"/api/v1/accounts/{org.central.uuid}/sync/").status_code == 202


def test_api_says_whether_an_account_is_synced(client, operator, org):
    api = APIClient()
    api.force_authenticate(operator)
    accounts = {a["name"]: a for a in api.get("/api/v1/accounts/").json()["results"]}
    assert accounts["fraud-research"]["synced"] is False
    assert accounts["central-feature-store"]["synced"] is True
    assert accounts["payments-ml"]["synced"] is True  # owner and consumer

"""A sync run is named by its account (name and 12-digit id), region and time, never by a UUID."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import SyncRun
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def _visible_text(html: str) -> str:
    """What a reader sees: tags (and their attributes, such as links) removed."""
    body = re.search(r"<body.*</body>", html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


@pytest.fixture
def run(org):
    return SyncRunFactory(account=org.central, region="eu-west-1", status=SyncRun.Status.SUCCEEDED)


def test_sync_run_page_names_its_account_not_a_uuid(client, operator, run):
    client.force_login(operator)
    response = client.get(run.get_absolute_url())
    assert response.status_code == 200
    text = _visible_text(response.content.decode())
    assert re.search(r"Sync of central-feature-store \( 111111111111 \) in eu-west-1", text)
    assert "eu-west-1" in text
    assert str(run.uuid) not in text and str(run.uuid)[:8] not in text
    assert re.search(r"<title>Sync of central-feature-store in eu-west-1 ", response.content.decode())


def test_sync_run_rows_name_their_account_not_a_uuid(client, operator, run, org):
    client.force_login(operator)
    for url in (reverse("catalog:syncrun_list"), org.central.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        row = re.search(rf'<tr>(?:(?!</tr>).)*href="{run.get_absolute_url()}"(?:(?!</tr>).)*</tr>', html, re.S)
        assert row, url
        text = _visible_text(f"<body>{row.group(0)}</body>")
        assert "central-feature-store" in text and "111111111111" in text
        assert str(run.uuid)[:8] not in text


def test_sync_run_api_names_the_account(operator, run):
    api = APIClient()
    api.force_authenticate(operator)
    body = api.get(f"/api/v1/sync-runs/{run.uuid}/").json()
    assert body["account_name"] == "central-feature-store"
    assert body["account_id"] == "111111111111"
    assert body["account"] == str(run.account.uuid)  # the account's API id, to follow

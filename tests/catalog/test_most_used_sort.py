"""The "Most used" sort until usage exists: the page hides it (or says there is no usage data
yet when a link asks for it), and the API accepts `sort=popular` but says `usage_data: false`."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import FeatureGroup
from tests.factories import FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    return {
        "alpha": FeatureGroupFactory(account=org.central, name="alpha_scores"),
        "beta": FeatureGroupFactory(account=org.central, name="beta_scores"),
        "hidden": FeatureGroupFactory(account=org.unrelated, name="lab_scores"),
    }


def _sort_options(html: str) -> dict[str, str]:
    select = re.search(r'<select[^>]*id="search-sort".*?</select>', html, re.S).group(0)
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select))


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_without_usage_the_page_does_not_offer_most_used(client, data_scientist, groups):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"))
    assert response.status_code == 200
    options = _sort_options(response.content.decode())
    assert "popular" not in options
    assert set(options) == {"relevance", "name", "recent"}


def test_a_link_asking_for_most_used_says_there_is_no_usage_data_yet(client, data_scientist, groups):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"), {"sort": "popular"})
    assert response.status_code == 200
    html = response.content.decode()
    assert _sort_options(html)["popular"] == "Most used (no usage data yet)"
    assert "No usage has been recorded yet" in html
    assert "alpha_scores" in html and "beta_scores" in html


def test_api_accepts_popular_and_says_there_is_no_usage_data(data_scientist, groups):
    body = _api(data_scientist).get("/api/v1/search/", {"sort": "popular"}).json()
    assert body["sort"] == "popular"
    assert body["usage_data"] is False
    assert [g["name"] for g in body["groups"]] == ["alpha_scores", "beta_scores"]  # by name, all at zero


def test_usage_of_a_group_the_user_cannot_see_does_not_count(client, data_scientist, groups):
    FeatureGroup.objects.filter(pk=groups["hidden"].pk).update(popularity=12.0)
    assert _api(data_scientist).get("/api/v1/search/").json()["usage_data"] is False
    client.force_login(data_scientist)
    assert "popular" not in _sort_options(client.get(reverse("catalog:catalog_list")).content.decode())


def test_once_usage_exists_most_used_is_offered_and_orders_by_it(client, data_scientist, groups):
    FeatureGroup.objects.filter(pk=groups["beta"].pk).update(popularity=3.0)
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"))
    assert _sort_options(response.content.decode())["popular"] == "Most used"
    body = _api(data_scientist).get("/api/v1/search/", {"sort": "popular"}).json()
    assert body["usage_data"] is True
    assert [g["name"] for g in body["groups"]] == ["beta_scores", "alpha_scores"]
    assert (
        "No usage has been recorded yet"
        not in client.get(reverse("catalog:catalog_list"), {"sort": "popular"}).content.decode()
    )

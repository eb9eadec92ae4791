"""The catalog's "Most used" sort and blended ranking read the usage rollups (through popularity)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sharing.models import Grant
from tests.factories import FeatureGroupFactory, GrantFactory
from tests.usage.dashboard_data import event, rollups_rebuild
from usage.popularity import feature_groups_popularity_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    groups = {
        name: FeatureGroupFactory(account=org.central, name=name, description="customer scores")
        for name in ("alpha_scores", "beta_scores", "gamma_scores")
    }
    return groups


def _search(user, **params) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    return client.get("/api/v1/search/", params).json()


def test_most_used_orders_by_other_accounts_reads(client, data_scientist, org, catalog):
    for _ in range(5):
        event(group=catalog["gamma_scores"], consumer=org.consumer, operation="GetRecord")
    event(group=catalog["beta_scores"], consumer=org.consumer, operation="BatchGetRecord")
    event(group=catalog["beta_scores"], consumer=org.team, operation="GetRecord")
    # The owner's own writes do not make alpha popular.
    for _ in range(50):
        event(group=catalog["alpha_scores"], consumer=org.central, operation="PutRecord")
    rollups_rebuild()
    assert _search(data_scientist, sort="popular")["usage_data"] is False  # not refreshed yet
    feature_groups_popularity_refresh()
    body = _search(data_scientist, sort="popular")
    assert body["usage_data"] is True
    # gamma: 5 reads + 10 for one account = 15; beta: 2 reads + 20 for two accounts = 22.
    assert [g["name"] for g in body["groups"]] == ["beta_scores", "gamma_scores", "alpha_scores"]
    assert [g["popularity"] for g in body["groups"]] == [22.0, 15.0, 0.0]
    # The blended ranking lifts the used groups among equal text matches.
    ranked = _search(data_scientist, q="customer scores")
    assert [g["name"] for g in ranked["groups"]][:2] == ["beta_scores", "gamma_scores"]
    client.force_login(data_scientist)
    html = client.get(reverse("catalog:catalog_list")).content.decode()
    assert '<option value="popular"' in html and ">Most used<" in html


def test_usage_falling_out_of_the_window_stops_counting(data_scientist, org, catalog):
    event(group=catalog["gamma_scores"], consumer=org.consumer, operation="GetRecord", days_ago=45)
    rollups_rebuild()
    feature_groups_popularity_refresh()
    assert _search(data_scientist, sort="popular")["usage_data"] is False


def test_group_shared_by_grant_shows_used_by(client, data_scientist, org, catalog):
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=catalog["beta_scores"],
        permission=Grant.Permission.READ_ONLY,
    )
    event(group=catalog["beta_scores"], consumer=org.consumer, operation="GetRecord")
    rollups_rebuild()
    client.force_login(data_scientist)
    html = client.get(catalog["beta_scores"].get_absolute_url()).content.decode()
    assert "Used by 1 account in the last 30 days." in html
    html = client.get(catalog["alpha_scores"].get_absolute_url()).content.decode()
    assert "No usage recorded yet." in html

"""Authorise before validating or looking anything up: a refusal never depends on what was sent."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    group = FeatureGroupFactory(account=org.central, name="customer_age")
    FeatureFactory(feature_group=group, name="age_years")
    return group


def test_feature_edit_page_refuses_a_non_owner_before_looking_the_feature_up(client, data_scientist, group):
    client.force_login(data_scientist)
    real = client.get(reverse("catalog:feature_description_edit", args=[group.uuid, "age_years"]))
    made_up = client.get(reverse("catalog:feature_description_edit", args=[group.uuid, "no_such_feature"]))
    assert real.status_code == made_up.status_code == 403


def test_api_patch_by_a_non_owner_is_403_whatever_the_body(data_scientist, group):
    api = APIClient()
    api.force_authenticate(data_scientist)
    url = f"/api/v1/feature-groups/{group.uuid}/"
    bad = api.patch(url, {"pantry_description": ["not", "text"]}, format="json")
    good = api.patch(url, {"pantry_description": "fine"}, format="json")
    assert bad.status_code == good.status_code == 403
    assert bad.json() == good.json()
    feature = group.features.get()
    assert api.patch(f"/api/v1/features/{feature.uuid}/", {"parameters": 5}, format="json").status_code == 403


def test_api_sync_by_a_plain_member_is_403_whatever_the_region(data_scientist, org):
    api = APIClient()
    api.force_authenticate(data_scientist)
    url = f"/api/v1/accounts/{org.consumer.uuid}/sync/"
    assert api.post(url, {"region": "nowhere-1"}, format="json").status_code == 403
    assert api.post(url, ["not", "an", "object"], format="json").status_code == 403


def test_api_sync_with_a_body_that_is_not_an_object_is_400_for_someone_allowed(owner, org):
    api = APIClient()
    api.force_authenticate(owner)
    response = api.post(f"/api/v1/accounts/{org.central.uuid}/sync/", ["eu-west-1"], format="json")
    assert response.status_code == 400

"""API query parameters: one rule for every endpoint (unknown parameters are a 400 naming them),
`q` on the feature group and feature lists, and an API root that lists every endpoint."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from catalog.models import FeatureGroup
from tests.factories import FeatureFactory, FeatureGroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(org):
    age = FeatureGroupFactory(account=org.central, name="customer_age", description="Age of each customer.")
    FeatureFactory(feature_group=age, name="age_years", description="Age in years")
    orders = FeatureGroupFactory(account=org.central, name="orders_daily", description="Orders per day.")
    FeatureFactory(feature_group=orders, name="order_count", description="Orders placed")
    FeatureGroup.objects.filter(pk=age.pk).update(feature_words="age_years Age in years")
    return {"age": age, "orders": orders}


@pytest.fixture
def api(owner) -> APIClient:
    client = APIClient()
    client.force_authenticate(owner)
    return client


def test_feature_groups_q_filters_by_words(api, groups):
    names = [g["name"] for g in api.get("/api/v1/feature-groups/", {"q": "customer"}).json()["results"]]
    assert names == ["customer_age"]
    names = [g["name"] for g in api.get("/api/v1/feature-groups/", {"q": "orders -customer"}).json()["results"]]
    assert names == ["orders_daily"]


def test_features_q_filters_by_words(api, groups):
    names = [f["name"] for f in api.get("/api/v1/features/", {"q": "placed"}).json()["results"]]
    assert names == ["order_count"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/feature-groups/",
        "/api/v1/features/",
        "/api/v1/accounts/",
        "/api/v1/sync-runs/",
        "/api/v1/lineage/events/",
        "/api/v1/search/",
    ],
)
def test_an_unknown_query_parameter_is_400_naming_it(api, groups, path):
    response = api.get(path, {"serach": "customer"})
    assert response.status_code == 400
    assert "serach" in response.json()["detail"]


def test_unknown_parameter_on_a_detail_and_the_lineage_graph_too(api, groups):
    assert api.get(f"/api/v1/feature-groups/{groups['age'].uuid}/", {"x": 1}).status_code == 400
    assert api.get(f"/api/v1/feature-groups/{groups['age'].uuid}/lineage/", {"dept": 1}).status_code == 400


def test_an_unknown_include_value_is_400_naming_the_parameter_and_its_values(api, groups):
    response = api.get("/api/v1/feature-groups/", {"include": "AAA"})
    assert response.status_code == 400
    assert response.json() == {"include": ["'AAA' is not one of: features."]}
    twice = api.get("/api/v1/feature-groups/?include=features&include=AAA")
    assert (twice.status_code, twice.json()) == (400, {"include": ["Give it once."]})
    assert api.get(f"/api/v1/feature-groups/{groups['age'].uuid}/", {"include": "feature"}).status_code == 400
    assert api.get(f"/api/v1/feature-groups/{groups['age'].uuid}/", {"include": "features"}).status_code == 200


def test_known_parameters_still_work(api, groups, org):
    assert api.get("/api/v1/feature-groups/", {"include": "features", "page": 1, "format": "json"}).status_code == 200
    assert api.get("/api/v1/feature-groups/", {"account_id": org.central.account_id, "tag": "x"}).status_code == 200
    assert api.get("/api/v1/search/", {"q": "age", "kind": "features", "account": "111111111111"}).status_code == 200
    assert api.get(f"/api/v1/feature-groups/{groups['age'].uuid}/lineage/", {"depth": 1}).status_code == 200


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "", "١"])
def test_a_page_that_is_not_a_whole_number_from_1_is_400_naming_it(api, groups, value):
    """DRF answered 404 "Invalid page.", as if the list had no such page."""
    response = api.get("/api/v1/feature-groups/", {"page": value})
    assert (response.status_code, response.json()) == (400, {"page": ["A whole number from 1."]})


def test_a_page_past_the_end_stays_404_and_real_pages_answer(api, groups):
    assert api.get("/api/v1/feature-groups/", {"page": 2}).status_code == 404
    assert api.get("/api/v1/feature-groups/", {"page": 1, "page_size": 1}).json()["results"][0]["name"] == (
        "customer_age"
    )
    assert api.get("/api/v1/feature-groups/", {"page": 2, "page_size": 1}).json()["results"][0]["name"] == (
        "orders_daily"
    )
    assert api.get("/api/v1/feature-groups/", {"page": "last", "page_size": 1}).status_code == 200  # DRF's word


def _api_routes() -> list[str]:
    """Every named route under /api/v1/, as its route string."""
    found = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                found.append((p.name, prefix + str(p.pattern)))

    walk(get_resolver().url_patterns)
    return [(name, route) for name, route in found if route.startswith("api/v1/") and "format" not in route]


def test_api_root_lists_every_endpoint(api):
    root = api.get("/api/v1/")
    assert root.status_code == 200
    listed = " ".join(str(v) for v in root.json().values())
    for name in ("search", "lineage", "lineage-events", "schema", "docs"):
        assert name in root.json(), name
    for name, route in _api_routes():
        if name == "api-root":
            continue
        shown = route.replace("<uuid:id>", "{id}").replace("<uuid:edge_id>", "{edge_id}")
        shown = shown.replace("(?P<id>[^/.]+)", "{id}").replace("^", "").replace("$", "")
        assert "/" + shown.split("/{", 1)[0] in listed, (name, route)

"""GET /api/v1/search/: same selector and visibility rules as the search page."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import FeatureGroup
from sharing.models import Grant
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory, api_token_issue

pytestmark = pytest.mark.django_db
URL = "/api/v1/search/"


@pytest.fixture
def catalogue(org):
    age = FeatureGroupFactory(
        account=org.central, name="customer_age", description="Age of each customer.", tags={"domain": "marketing"}
    )
    FeatureFactory(feature_group=age, name="customer_age_years", type="Integral", description="Age in years")
    orders = FeatureGroupFactory(
        account=org.central, name="orders_daily", description="Orders per customer.", region="us-east-1"
    )
    FeatureFactory(feature_group=orders, name="order_count", type="Integral", description="Orders placed")
    hidden = FeatureGroupFactory(account=org.team, name="customer_hidden", description="Not shared.")
    FeatureFactory(feature_group=hidden, name="customer_hidden_score", type="Fractional")
    FeatureGroupFactory(account=org.central, name="customer_gone", deleted_at=timezone.now())
    for group in (age, orders, hidden):
        FeatureGroup.objects.filter(pk=group.pk).update(
            feature_words=" ".join(f"{f.name} {f.description}" for f in group.features.all())
        )
    for region in ("eu-west-1", "us-east-1"):
        GrantFactory(owner_account=org.central, consumer_account=org.consumer, region=region)
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=orders,
        permission=Grant.Permission.READ_ONLY,
    )
    return {"age": age, "orders": orders, "hidden": hidden}


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_search_returns_groups_with_facets_and_count(data_scientist, catalogue):
    body = api_for(data_scientist).get(URL, {"q": "customer"}).json()
    assert body["kind"] == "groups"
    assert [g["name"] for g in body["groups"]][0] == "customer_age"
    assert {g["name"] for g in body["groups"]} == {"customer_age", "orders_daily"}
    assert body["count"] == 2
    assert body["groups"][0]["url"].endswith(catalogue["age"].get_absolute_url())
    assert {f["value"]: f["count"] for f in body["facets"]["region"]} == {"eu-west-1": 1, "us-east-1": 1}
    assert {f["value"]: f["count"] for f in body["facets"]["access"]} == {"read_only": 1, "discoverable": 1}


def test_search_features_kind_returns_features_with_their_group(data_scientist, catalogue):
    body = api_for(data_scientist).get(URL, {"q": "age years", "kind": "features"}).json()
    assert [f["name"] for f in body["features"]] == ["customer_age_years"]
    assert body["features"][0]["group_name"] == "customer_age"
    assert {f["value"] for f in body["facets"]["feature_type"]} == {"Integral"}


def test_facet_filters_through_the_api(data_scientist, catalogue):
    body = api_for(data_scientist).get(URL, {"q": "customer", "region": "us-east-1"}).json()
    assert [g["name"] for g in body["groups"]] == ["orders_daily"]
    body = api_for(data_scientist).get(URL, {"tag": "domain=marketing"}).json()
    assert [g["name"] for g in body["groups"]] == ["customer_age"]
    body = api_for(data_scientist).get(URL, {"access": "can_read"}).json()
    assert [g["name"] for g in body["groups"]] == ["orders_daily"]


def test_facet_counts_match_filtered_counts(data_scientist, catalogue):
    client = api_for(data_scientist)
    for kind in ("groups", "features"):
        body = client.get(URL, {"q": "customer", "kind": kind}).json()
        for name, values in body["facets"].items():
            for facet in values:
                narrowed = client.get(URL, {"q": "customer", "kind": kind, name: facet["value"]}).json()
                assert narrowed["count"] == facet["count"], (kind, name, facet["value"])


def test_outsider_sees_nothing_and_counts_leak_nothing(outsider, catalogue):
    for kind in ("groups", "features"):
        body = api_for(outsider).get(URL, {"q": "customer", "kind": kind}).json()
        assert body["count"] == 0
        assert body[kind] == []
        assert all(not values for values in body["facets"].values())


def test_deleted_groups_are_never_returned(governance, catalogue):
    body = api_for(governance).get(URL, {"q": "customer"}).json()
    assert "customer_gone" not in {g["name"] for g in body["groups"]}
    assert "customer_hidden" in {g["name"] for g in body["groups"]}


def test_token_authentication_works_and_anonymous_is_refused(data_scientist, catalogue):
    token = api_token_issue(data_scientist, scope="read")
    client = APIClient()
    assert client.get(URL, {"q": "customer"}).status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(URL, {"q": "customer"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"q": "((( !!! )))"},
        {"q": "the of and"},
        {"q": "y" * 10_000},
        # Free-form facets are filtered as on the page (enumerated values: the next test).
        {"q": "customer", "region": "nowhere", "account": "123", "tag": "no-equals-sign"},
        {"q": "customer", "page": "9999"},
        {"q": "customer", "kind": "features", "page": "9999"},
    ],
)
def test_bad_input_gives_200(data_scientist, catalogue, params):
    response = api_for(data_scientist).get(URL, params)
    assert response.status_code == 200
    assert response.json()["page"] >= 1


def test_typo_finds_the_group_through_the_api(data_scientist, catalogue):
    body = api_for(data_scientist).get(URL, {"q": "custmer_age"}).json()
    assert body["groups"][0]["name"] == "customer_age"
    assert body["fuzzy"] is True


def test_search_api_runs_a_fixed_number_of_queries(data_scientist, catalogue, org, django_assert_max_num_queries):
    for i in range(30):
        FeatureFactory(feature_group=FeatureGroupFactory(account=org.central, name=f"customer_{i}"))
    client = api_for(data_scientist)
    # A fixed count however many results: the user's scope (3), the search statement and its
    # transaction and settings (5), the tsquery check and the page's rows.
    with django_assert_max_num_queries(11):
        groups = client.get(URL, {"q": "customer", "kind": "groups"})
    assert groups.status_code == 200
    assert len(groups.json()["groups"]) == 20 and groups.json()["count"] > 30
    with django_assert_max_num_queries(11):
        features = client.get(URL, {"q": "customer", "kind": "features"})
    assert features.status_code == 200
    assert len(features.json()["features"]) == 20


def test_openapi_schema_describes_the_search_endpoint(client, operator):
    client.force_login(operator)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/search/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "kind", "account", "tag", "feature_type", "page"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "customer", "sort": "popularity"}, "sort"),
        ({"q": "customer", "kind": "feature"}, "kind"),
        ({"q": "customer", "kind": "features", "feature_type": "Float"}, "feature_type"),
        ({"q": "customer", "store": "both"}, "store"),
        ({"q": "customer", "access": "everything"}, "access"),
        ({"q": "customer", "page": "two"}, "page"),
        ({"q": "customer", "page": "0"}, "page"),
        ({"q": "customer", "page": "-3"}, "page"),
    ],
)
def test_a_value_outside_the_schema_is_a_400_naming_the_parameter_in_the_api_only(
    data_scientist, catalogue, client, params, parameter
):
    response = api_for(data_scientist).get(URL, params)
    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    # The page keeps dropping it: a hand-edited or stale link still shows results.
    client.force_login(data_scientist)
    page = client.get("/catalog/", params)
    assert page.status_code == 200
    assert b"customer_age" in page.content


def test_values_the_schema_allows_are_searched(data_scientist, catalogue):
    api = api_for(data_scientist)
    for params in (
        {"q": "customer", "sort": "name", "kind": "groups", "page": "1", "store": "offline"},
        {"q": "customer", "access": ["read_only", "can_read"], "kind": "features", "feature_type": "Integral"},
    ):
        assert api.get(URL, params).status_code == 200, params

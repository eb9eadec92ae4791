"""Enums in the OpenAPI schema name what the API really sends (found by schemathesis on the demo)."""

from __future__ import annotations

import pytest

from catalog.selectors.access import ACCESS_SLUGS
from sharing.models import Grant

pytestmark = pytest.mark.django_db


def _schemas(client, user) -> dict:
    client.force_login(user)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()["components"]["schemas"]


def _enum(schemas: dict, prop: dict) -> set:
    refs = [part["$ref"] for part in prop.get("allOf", []) + prop.get("oneOf", [])]
    return {value for ref in refs for value in schemas[ref.rsplit("/", 1)[1]]["enum"]}


def test_your_access_in_search_and_group_answers_is_the_access_facets_values(client, operator):
    # It shared one enum with the grant levels: `discoverable` was documented as not allowed.
    schemas = _schemas(client, operator)
    for name in ("SearchGroup", "FeatureGroup", "FeatureGroupDetail"):
        assert _enum(schemas, schemas[name]["properties"]["access_level"]) == set(ACCESS_SLUGS), name
    assert set(schemas["AccessLevelEnum"]["enum"]) == set(Grant.Permission.values)


def test_an_undecided_requests_granted_level_may_be_empty(client, operator):
    schemas = _schemas(client, operator)
    assert _enum(schemas, schemas["AccessRequest"]["properties"]["granted_level"]) >= {"", *Grant.Permission.values}


def test_the_schema_states_what_the_api_refuses_in_query_parameters(client, operator):
    """A value the schema allows must be accepted (schemathesis's positive checks): the lineage
    depths are refused below 0, so the schema says minimum 0."""
    client.force_login(operator)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    lineage = next(ops["get"] for path, ops in paths.items() if path.endswith("/lineage/") and "{id}" in path)
    minimums = {p["name"]: p["schema"].get("minimum") for p in lineage["parameters"] if p["in"] == "query"}
    assert minimums == {"depth": 0, "up": 0, "down": 0}
    search = paths["/api/v1/search/"]["get"]
    sort = next(p for p in search["parameters"] if p["name"] == "sort")
    assert set(sort["schema"]["enum"]) == {"relevance", "name", "recent", "popular"}

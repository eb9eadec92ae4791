"""Nobody learns what they may not see: labels, counts and messages come only from what is visible.

A hidden account and one that does not exist must look the same from outside,
on the page and in the API, whatever parameter names it.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db

NOBODY = "123456789012"  # no account has this id


@pytest.fixture
def catalogue(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    return {
        "central": FeatureGroupFactory(account=org.central, name="customer_age"),
        # payments-ml (team) shares nothing with the consumer account.
        "hidden": FeatureGroupFactory(account=org.team, name="merchant_secret"),
    }


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _account_facet(payload: dict) -> list[dict]:
    return payload["facets"]["account"]


@pytest.mark.parametrize("kind", ["groups", "features"])
def test_search_api_account_facet_does_not_name_a_hidden_account(data_scientist, org, catalogue, kind):
    api = api_for(data_scientist)
    hidden = api.get("/api/v1/search/", {"account": org.team.account_id, "kind": kind}).json()
    unknown = api.get("/api/v1/search/", {"account": NOBODY, "kind": kind}).json()

    assert org.team.name not in str(hidden)
    (hidden_value,) = _account_facet(hidden)
    (unknown_value,) = _account_facet(unknown)
    # Indistinguishable: same shape, the label is the id the caller typed.
    assert hidden_value == {"value": org.team.account_id, "label": org.team.account_id, "count": 0, "selected": True}
    assert unknown_value == {"value": NOBODY, "label": NOBODY, "count": 0, "selected": True}
    assert {k: v for k, v in hidden.items() if k != "facets"} == {k: v for k, v in unknown.items() if k != "facets"}


def test_search_api_account_facet_names_an_account_the_user_can_see(data_scientist, org, catalogue):
    # A visible account with nothing left after the other filters keeps its name.
    payload = api_for(data_scientist).get("/api/v1/search/", {"account": org.central.account_id, "q": "zzzz"}).json()
    assert _account_facet(payload)[0]["label"] == org.central.name


def test_search_page_account_facet_does_not_name_a_hidden_account(client, data_scientist, org, catalogue):
    client.force_login(data_scientist)
    hidden_response = client.get(reverse("catalog:catalog_list"), {"account": org.team.account_id})
    unknown_response = client.get(reverse("catalog:catalog_list"), {"account": NOBODY})
    # Real search pages, not two identical error pages or redirects.
    assert hidden_response.status_code == unknown_response.status_code == 200
    hidden, unknown = hidden_response.content.decode(), unknown_response.content.decode()
    assert org.team.account_id in hidden  # the typed id is echoed back in the facet
    assert org.team.name not in hidden
    # The two pages differ only where the typed id is echoed back.
    assert hidden.replace(org.team.account_id, NOBODY) == _strip_tokens(unknown, hidden)


def _strip_tokens(page: str, like: str) -> str:
    """`page` with its CSRF token replaced by the one in `like` (tokens differ per response)."""
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', like)
    mine = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token and mine:
        page = page.replace(mine.group(1), token.group(1))
    return page


# --- the lineage graph ------------------------------------------------------------------------


@pytest.fixture
def shared_source(org, catalogue):
    """An S3 prefix that feeds a visible group and that a hidden account's job also writes."""
    from catalog.models import LineageEdge, LineageNode
    from catalog.services.lineage import lineage_node_for_group

    fg = lineage_node_for_group(group=catalogue["central"])
    hidden_job_arn = f"arn:aws:sagemaker:eu-west-1:{org.team.account_id}:action/merchant-export"
    raw = LineageNode.objects.create(
        key="s3://shared-raw/customers",
        kind=LineageNode.Kind.S3,
        name="s3://shared-raw/customers",
        properties={
            "source_uri": "s3://shared-raw/customers",
            "sagemaker_arns": [
                f"arn:aws:sagemaker:eu-west-1:{org.central.account_id}:artifact/raw",
                f"arn:aws:sagemaker:eu-west-1:{org.team.account_id}:artifact/merchant-raw",
            ],
            "sagemaker_scopes": [f"{org.central.account_id}/eu-west-1", f"{org.team.account_id}/eu-west-1"],
        },
    )
    job = LineageNode.objects.create(
        key=hidden_job_arn, kind=LineageNode.Kind.PROCESSING_JOB, name="merchant-export", account=org.team
    )
    LineageEdge.objects.create(source=job, target=raw, origin="sagemaker", relation="Produced")
    LineageEdge.objects.create(source=raw, target=fg, origin="sagemaker", relation="ContributedTo")
    return {"raw": raw, "job": job}


@pytest.mark.parametrize("persona", ["data_scientist", "owner"])
def test_lineage_graph_shows_nothing_of_an_account_the_user_cannot_see(request, org, catalogue, shared_source, persona):
    user = request.getfixturevalue(persona)
    response = api_for(user).get(f"/api/v1/feature-groups/{catalogue['central'].uuid}/lineage/", {"depth": 5})
    assert response.status_code == 200
    body = response.content.decode()
    assert org.team.account_id not in body and "merchant" not in body
    keys = {n["key"] for n in response.json()["nodes"]}
    assert shared_source["raw"].key in keys
    raw = next(n for n in response.json()["nodes"] if n["key"] == shared_source["raw"].key)
    assert raw["properties"]["sagemaker_arns"] == [f"arn:aws:sagemaker:eu-west-1:{org.central.account_id}:artifact/raw"]


def test_lineage_page_shows_nothing_of_an_account_the_user_cannot_see(
    client, data_scientist, org, catalogue, shared_source
):
    client.force_login(data_scientist)
    page = client.get(reverse("catalog:group_lineage", args=[catalogue["central"].uuid]), {"depth": 5})
    assert page.status_code == 200
    assert org.team.account_id not in page.content.decode()


def test_governance_sees_every_account_in_the_lineage_graph(governance, org, catalogue, shared_source):
    response = api_for(governance).get(f"/api/v1/feature-groups/{catalogue['central'].uuid}/lineage/", {"depth": 5})
    assert shared_source["job"].key in {n["key"] for n in response.json()["nodes"]}

"""Rows written in Python (search results, a group's schema): owner text escaped, every part of a row shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def hostile_group(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")  # discoverable
    group = FeatureGroupFactory(
        account=org.central,
        name="hostile_profile",
        description=HOSTILE + " " + "x" * 400,
        tags={"team": HOSTILE},
        feature_count=1,
    )
    FeatureFactory(feature_group=group, name="hostile_feature", description=HOSTILE, collection_type="List")
    return group


def _body(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(reverse("catalog:catalog_list"), params, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_a_group_row_escapes_owner_text_and_offers_a_request(client, data_scientist, hostile_group):
    body = _body(client, data_scientist, q="")

    assert "<img" not in body
    assert f'<a href="{hostile_group.get_absolute_url()}">hostile_profile</a>' in body
    assert '<span class="badge text-bg-info">Discoverable only</span>' in body
    assert "central-feature-store (111111111111) · eu-west-1 · 1 feature · Created" in body
    assert "team=&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    # The description is cut at 280 characters, as the template's `truncatechars` did.
    assert "x" * 240 in body and "x" * 300 not in body and "…</p>" in body
    request_url = reverse("sharing:request_create", args=[hostile_group.uuid])
    assert f'href="{request_url}" aria-describedby="result-{hostile_group.uuid}">Request access</a>' in body


def test_a_feature_row_escapes_owner_text_and_links_its_group(client, data_scientist, hostile_group):
    body = _body(client, data_scientist, q="hostile", kind="features")

    assert "<img" not in body
    feature = hostile_group.features.get(name="hostile_feature")
    assert f'<a class="font-mono" href="{feature.get_absolute_url()}">hostile_feature</a>' in body
    assert '<span class="badge text-bg-secondary">String List</span>' in body
    assert (
        f'in <a href="{hostile_group.get_absolute_url()}">hostile_profile</a> · central-feature-store · eu-west-1'
        in body
    )
    assert '<p class="mb-0 small">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>' in body


def test_an_owner_sees_no_request_button_on_their_own_group(client, owner, hostile_group):
    body = _body(client, owner, q="")
    assert "hostile_profile" in body
    assert "Request access" not in body


def test_no_match_says_so(client, data_scientist, hostile_group):
    assert "No feature groups match. Try fewer words or remove a filter." in _body(client, data_scientist, q="zzzq")
    assert "No features match." in _body(client, data_scientist, q="zzzq", kind="features")


def test_schema_rows_escape_owner_text_and_show_every_column(client, owner, org):
    group = FeatureGroupFactory(account=org.central, name="schema_profile", record_identifier_feature="customer_id")
    FeatureFactory(feature_group=group, name="customer_id", type="String", position=0)
    FeatureFactory(
        feature_group=group,
        name="embedding",
        type="Fractional",
        position=1,
        collection_type="Vector",
        collection_config={"VectorConfig": {"Dimension": 16}},
        description=HOSTILE,
        parameters={"<b>unit</b>": HOSTILE, "source": "crm"},
    )
    client.force_login(owner)
    body = client.get(group.get_absolute_url()).content.decode()

    assert "<img" not in body and "<b>unit" not in body
    assert '<span class="badge text-bg-light border">record id</span>' in body
    assert "<td>Vector (16)</td>" in body
    assert '<td class="text-break">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td>' in body
    # PostgreSQL's jsonb keeps keys shortest first.
    assert (
        '<td class="small text-break"><span class="font-mono">source</span>=crm<br>'
        '<span class="font-mono">&lt;b&gt;unit&lt;/b&gt;</span>=&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td>'
    ) in body


def test_a_feature_row_shows_the_description_written_in_pantry(client, data_scientist, hostile_group):
    feature = hostile_group.features.get(name="hostile_feature")
    feature.pantry_description = "Days since the last order, written by the owners."
    feature.save(update_fields=["pantry_description"])

    body = _body(client, data_scientist, q="hostile", kind="features")

    assert '<p class="mb-0 small">Days since the last order, written by the owners.</p>' in body

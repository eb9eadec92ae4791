"""Lineage pages: the panel and its tables, owners' manual edges, the events page and the API token page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import LineageEdge, LineageNode, OpenLineageEvent
from catalog.services import lineage as services
from tests.csp import assert_csp_clean
from tests.factories import FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(org):
    return FeatureGroupFactory(
        account=org.central, name="customer_profile", glue_database="sagemaker_featurestore", glue_table="cp_1"
    )


@pytest.fixture
def discoverable(org):
    """The data scientist's account may discover the central account's catalog."""
    return GrantFactory(owner_account=org.central, consumer_account=org.consumer)


def lineage_url(group) -> str:
    return reverse("catalog:group_lineage", args=[group.uuid])


def add_url(group) -> str:
    return reverse("catalog:group_lineage_edge_add", args=[group.uuid])


def remove_url(group, edge) -> str:
    return reverse("catalog:group_lineage_edge_remove", args=[group.uuid, edge.uuid])


def upstream_s3(**extra) -> dict:
    return {"direction": "upstream", "kind": "s3", "identifier": "s3://raw-data/customers/", **extra}


# --- the page and the panel ---------------------------------------------------------


def test_group_page_panel_points_the_graph_at_the_json_api(client, owner, group):
    client.force_login(owner)
    response = client.get(group.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-lineage-panel" in html
    assert f'data-lineage-url="/api/v1/feature-groups/{group.uuid}/lineage/"' in html


def test_lineage_page_lists_nodes_and_edges_without_javascript(client, owner, group):
    services.lineage_edge_add_manual(user=owner, group=group, **upstream_s3())
    client.force_login(owner)
    response = client.get(lineage_url(group))
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-lineage-panel" in html
    assert "s3://raw-data/customers" in html
    assert "data-lineage-edge=" in html
    assert 'data-lineage-node="' in html
    assert_csp_clean(html)


def test_htmx_gets_only_the_tables_fragment(client, owner, group):
    client.force_login(owner)
    response = client.get(lineage_url(group) + "?fragment=1&depth=3", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'data-depth="3"' in html


def test_non_owner_sees_lineage_without_the_edit_forms(client, data_scientist, discoverable, group):
    client.force_login(data_scientist)
    response = client.get(lineage_url(group))
    assert response.status_code == 200
    assert "Add an edge" not in response.content.decode()


def test_outsider_gets_404_for_the_lineage_page(client, outsider, group):
    client.force_login(outsider)
    assert client.get(lineage_url(group)).status_code == 404


def test_lineage_page_takes_a_bounded_number_of_queries(client, owner, group, django_assert_max_num_queries):
    for i in range(20):
        services.lineage_edge_add_manual(
            user=owner, group=group, direction="upstream", kind="s3", identifier=f"s3://raw/part-{i}"
        )
    client.force_login(owner)
    with django_assert_max_num_queries(30):
        response = client.get(lineage_url(group))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("s3://raw/part-") >= 20  # every edge is on the page the budget was measured on


# --- manual edges ---------------------------------------------------------------------


def test_owner_adds_an_upstream_s3_edge(client, owner, group):
    client.force_login(owner)
    response = client.post(add_url(group), upstream_s3(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "lineage-changed"
    edge = LineageEdge.objects.get()
    assert edge.origin == "manual" and edge.created_by == owner
    assert edge.source.key == "s3://raw-data/customers" and edge.source.kind == "s3"
    assert edge.target.feature_group == group


def test_adding_an_edge_reads_the_owners_accounts_and_grants_once(client, owner, group, monkeypatch):
    """The gate and the redrawn panel (graph, hidden edges) share one visibility scope."""
    from catalog import scope

    resolved = []
    resolver = scope._resolver

    def counting(user):
        resolved.append(user)
        return resolver(user)

    monkeypatch.setattr(scope, "_resolver", counting)
    client.force_login(owner)
    response = client.post(add_url(group), upstream_s3(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "s3://raw-data/customers" in response.content.decode()
    assert len(resolved) == 1


def test_owner_adds_a_downstream_model_by_name_and_a_glue_table_upstream(client, owner, group):
    client.force_login(owner)
    client.post(add_url(group), {"direction": "downstream", "kind": "model", "identifier": "churn-xgb"})
    client.post(add_url(group), {"direction": "upstream", "kind": "glue_table", "identifier": "Crm.Customers"})
    model = LineageNode.objects.get(kind="model")
    glue = LineageNode.objects.get(kind="glue_table")
    assert model.key == "pantry::111111111111/model/churn-xgb"  # names are per account
    assert glue.key == "glue://crm/customers"
    assert LineageEdge.objects.filter(source__feature_group=group, target=model).exists()
    assert LineageEdge.objects.filter(source=glue, target__feature_group=group).exists()


def test_owner_links_another_visible_group(client, owner, org, group):
    other = FeatureGroupFactory(account=org.central, name="customer_orders")
    client.force_login(owner)
    client.post(add_url(group), {"direction": "downstream", "kind": "feature_group", "identifier": other.arn})
    assert LineageEdge.objects.filter(source__feature_group=group, target__feature_group=other).exists()


def test_linking_a_group_the_owner_cannot_see_is_refused_like_an_unknown_one(client, owner, org, group):
    hidden = FeatureGroupFactory(account=org.unrelated, name="hidden_group")
    client.force_login(owner)
    for identifier in (hidden.arn, "no_such_group"):
        response = client.post(
            add_url(group),
            {"direction": "downstream", "kind": "feature_group", "identifier": identifier},
            HTTP_HX_REQUEST="true",
        )
        assert "No feature group you can see has this ARN or name." in response.content.decode()
    assert not LineageEdge.objects.exists()


def test_a_feature_group_arn_under_another_kind_is_refused(client, owner, org, group):
    hidden = FeatureGroupFactory(account=org.unrelated)
    client.force_login(owner)
    response = client.post(add_url(group), {"direction": "upstream", "kind": "model", "identifier": hidden.arn})
    assert response.status_code == 400
    assert "choose the kind" in response.content.decode()
    assert not LineageEdge.objects.exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"direction": "sideways", "kind": "s3", "identifier": "s3://b/p"}, "direction", "Select a valid choice"),
        ({"direction": "upstream", "kind": "s3", "identifier": "http://example.com/x"}, "identifier", "S3 URI"),
        ({"direction": "upstream", "kind": "glue_table", "identifier": "nodots"}, "identifier", "database.table"),
        ({"direction": "upstream", "kind": "s3", "identifier": ""}, "identifier", "This field is required"),
        ({"direction": "upstream", "kind": "feature_group", "identifier": "customer_profile"}, "identifier", "itself"),
    ],
)
def test_invalid_manual_edge_shows_the_error_and_stores_nothing(client, owner, group, data, field, message):
    client.force_login(owner)
    response = client.post(add_url(group), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    # The message is shown under the field it is about.
    error = re.search(rf'id="id_{field}-error">([^<]*)</div>', html)
    assert error and message in error.group(1)
    assert not LineageEdge.objects.exists()


def test_adding_the_same_edge_twice_keeps_one(client, owner, group):
    client.force_login(owner)
    client.post(add_url(group), upstream_s3())
    client.post(add_url(group), upstream_s3(identifier="s3://raw-data/customers"))
    assert LineageEdge.objects.count() == 1


def test_owner_removes_a_manual_edge(client, owner, group):
    edge = services.lineage_edge_add_manual(user=owner, group=group, **upstream_s3())
    client.force_login(owner)
    response = client.post(remove_url(group, edge), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "lineage-changed"
    assert not LineageEdge.objects.exists()


def test_synced_edges_cannot_be_removed_by_hand(client, owner, group):
    fg = services.lineage_node_for_group(group=group)
    raw = LineageNode.objects.create(key="s3://raw/x", kind="s3", name="s3://raw/x")
    synced = LineageEdge.objects.create(source=raw, target=fg, origin="sagemaker")
    client.force_login(owner)
    assert client.post(remove_url(group, synced)).status_code == 404
    assert LineageEdge.objects.filter(pk=synced.pk).exists()


def test_non_owner_who_sees_the_group_gets_403_for_add_and_remove(client, owner, data_scientist, discoverable, group):
    edge = services.lineage_edge_add_manual(user=owner, group=group, **upstream_s3())
    client.force_login(data_scientist)
    assert client.post(add_url(group), upstream_s3(identifier="s3://other/x")).status_code == 403
    assert client.post(remove_url(group, edge)).status_code == 403
    assert LineageEdge.objects.count() == 1


def test_outsider_gets_404_for_add_and_remove(client, owner, outsider, group):
    edge = services.lineage_edge_add_manual(user=owner, group=group, **upstream_s3())
    client.force_login(outsider)
    assert client.post(add_url(group), upstream_s3(identifier="s3://other/x")).status_code == 404
    assert client.post(remove_url(group, edge)).status_code == 404
    assert LineageEdge.objects.count() == 1


def test_add_and_remove_need_post(client, owner, group):
    client.force_login(owner)
    assert client.get(add_url(group)).status_code == 405


# --- events page and API token ------------------------------------------------------------


def _event(user, **fields):
    defaults = {
        "event_type": "COMPLETE",
        "event_time": "2025-01-01T00:00:00Z",
        "run_id": "0190a5c4-0000-7000-8000-000000000001",
        "job_namespace": "airflow",
        "job_name": "dag.task",
        "payload": {},
        "unmatched": [{"dataset": "postgres://db::public.orders", "role": "input"}],
        "submitted_by": user,
    }
    return OpenLineageEvent.objects.create(**{**defaults, **fields})


def test_operator_sees_every_event_with_unmatched_datasets(client, operator, owner):
    _event(owner)
    client.force_login(operator)
    html = client.get(reverse("catalog:lineage_events")).content.decode()
    assert "postgres://db::public.orders" in html
    assert "unmatched" in html


def test_users_see_only_their_own_events(client, owner, outsider):
    _event(owner, job_name="owners.job")
    client.force_login(outsider)
    html = client.get(reverse("catalog:lineage_events")).content.decode()
    assert "owners.job" not in html


def test_the_old_api_token_page_leads_to_personal_tokens(client, owner):
    client.force_login(owner)
    response = client.get("/api-token/")
    assert response.status_code == 302 and response["Location"] == reverse("identity:token_list")

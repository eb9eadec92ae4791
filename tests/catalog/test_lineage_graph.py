"""The lineage graph selector and its JSON API: hops, caps, merging of origins, and visibility."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import LineageEdge, LineageNode
from catalog.selectors import lineage as selectors
from catalog.services.lineage import lineage_node_for_group
from sharing.models import Grant
from tests.factories import FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


def node(key: str, kind: str = LineageNode.Kind.DATASET, name: str | None = None) -> LineageNode:
    return LineageNode.objects.create(key=key, kind=kind, name=name or key.rsplit("/", 1)[-1])


def edge(source: LineageNode, target: LineageNode, origin: str = LineageEdge.Origin.SAGEMAKER, relation: str = ""):
    return LineageEdge.objects.create(source=source, target=target, origin=origin, relation=relation)


@pytest.fixture
def chain(org):
    """raw → job → group → training → model → endpoint, plus a pipeline associated with the job."""
    group = FeatureGroupFactory(account=org.central, name="customer_profile")
    fg = lineage_node_for_group(group=group)
    raw = node("s3://raw/customers", LineageNode.Kind.S3)
    job = node("arn:aws:sagemaker:eu-west-1:111111111111:action/ingest", LineageNode.Kind.PROCESSING_JOB)
    pipeline = node("arn:aws:sagemaker:eu-west-1:111111111111:context/features-pipeline", LineageNode.Kind.PIPELINE)
    training = node("arn:aws:sagemaker:eu-west-1:111111111111:action/train", LineageNode.Kind.TRAINING_JOB)
    model = node("arn:aws:sagemaker:eu-west-1:111111111111:artifact/abc", LineageNode.Kind.MODEL, "churn-model")
    endpoint = node("arn:aws:sagemaker:eu-west-1:111111111111:context/churn-endpoint", LineageNode.Kind.ENDPOINT)
    edge(raw, job, relation="ContributedTo")
    edge(job, fg, relation="Produced")
    edge(job, pipeline, relation="AssociatedWith")
    edge(fg, training, relation="ContributedTo")
    edge(training, model, relation="Produced")
    edge(model, endpoint, relation="ContributedTo")
    return {
        "group": group,
        "fg": fg,
        "raw": raw,
        "job": job,
        "pipeline": pipeline,
        "training": training,
        "model": model,
        "endpoint": endpoint,
    }


def keys(graph) -> set[str]:
    return {n.key for n in graph.nodes}


def test_graph_walks_n_hops_each_way(chain, owner):
    one = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=1, depth_down=1)
    assert keys(one) == {chain[k].key for k in ("fg", "job", "training")}
    two = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=2, depth_down=2)
    assert keys(two) == {chain[k].key for k in ("fg", "job", "pipeline", "raw", "training", "model")}
    three = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=3, depth_down=3)
    assert chain["endpoint"].key in keys(three)
    sides = {n.key: (n.side, n.hops) for n in three.nodes}
    assert sides[chain["raw"].key] == ("upstream", 2)
    assert sides[chain["model"].key] == ("downstream", 2)
    assert sides[chain["fg"].key] == ("root", 0)


def test_graph_edges_reference_returned_nodes_and_feature_group_nodes_link_to_their_page(chain, owner):
    graph = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=5, depth_down=5)
    ids = {n.id for n in graph.nodes}
    assert all(e.source in ids and e.target in ids for e in graph.edges)
    assert len(graph.edges) == 6
    root = graph.nodes_by_id[graph.root]
    assert root.url == chain["group"].get_absolute_url()
    assert root.feature_group == str(chain["group"].uuid)


def test_depth_is_capped_at_five(chain, owner):
    graph = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=50, depth_down=50)
    assert graph.depth_up == graph.depth_down == selectors.MAX_DEPTH


def test_associated_pipeline_is_shown_but_not_walked_through(chain, owner):
    sibling_job = node("arn:aws:sagemaker:eu-west-1:111111111111:action/other-ingest", LineageNode.Kind.JOB)
    edge(sibling_job, chain["pipeline"], relation="AssociatedWith")
    graph = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=5, depth_down=0)
    assert chain["pipeline"].key in keys(graph)
    assert sibling_job.key not in keys(graph)


def test_one_edge_from_several_origins_lists_every_origin(chain, owner):
    edge(chain["raw"], chain["job"], origin=LineageEdge.Origin.MANUAL, relation="manual")
    graph = selectors.lineage_graph(user=owner, group=chain["group"], depth_up=2, depth_down=0)
    raw_id = next(n.id for n in graph.nodes if n.key == chain["raw"].key)
    (merged,) = [e for e in graph.edges if e.source == raw_id]
    assert merged.origins == ["manual", "sagemaker"]
    assert merged.manual_edge


def test_group_without_lineage_is_a_single_root_node(org, owner):
    group = FeatureGroupFactory(account=org.central)
    graph = selectors.lineage_graph(user=owner, group=group)
    assert [n.key for n in graph.nodes] == [group.arn]
    assert graph.edges == []


def test_total_nodes_are_capped_and_the_graph_says_so(org, owner, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_NODES", 10)
    group = FeatureGroupFactory(account=org.central)
    fg = lineage_node_for_group(group=group)
    for i in range(30):
        edge(node(f"s3://bucket/input-{i}", LineageNode.Kind.S3), fg)
    graph = selectors.lineage_graph(user=owner, group=group, depth_up=1, depth_down=0)
    assert len(graph.nodes) == 10
    assert graph.truncated


def test_neighbour_group_the_user_cannot_see_is_hidden_with_what_lies_beyond_it(org, data_scientist):
    # The data scientist discovers the central catalog but nothing of the team account.
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    visible = FeatureGroupFactory(account=org.central, name="customer_profile")
    hidden = FeatureGroupFactory(account=org.team, name="secret_payments")
    visible_node, hidden_node = lineage_node_for_group(group=visible), lineage_node_for_group(group=hidden)
    beyond = node("s3://team-private/ledger", LineageNode.Kind.S3)
    shared_input = node("s3://raw/customers", LineageNode.Kind.S3)
    edge(beyond, hidden_node)
    edge(hidden_node, visible_node)
    edge(shared_input, visible_node)
    graph = selectors.lineage_graph(user=data_scientist, group=visible, depth_up=5, depth_down=5)
    assert keys(graph) == {visible.arn, shared_input.key}
    # Edges name nodes by id: none touches the hidden group's node.
    assert all(str(hidden_node.uuid) not in (e.source, e.target) for e in graph.edges)
    assert len(graph.edges) == 1


def test_governance_sees_groups_of_every_account_in_the_graph(org, governance):
    a = FeatureGroupFactory(account=org.central)
    b = FeatureGroupFactory(account=org.team)
    edge(lineage_node_for_group(group=b), lineage_node_for_group(group=a))
    graph = selectors.lineage_graph(user=governance, group=a)
    assert keys(graph) == {a.arn, b.arn}


# --- API -------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_returns_nodes_and_edges_with_kinds_keys_urls_and_origins(chain, owner):
    response = api(owner).get(f"/api/v1/feature-groups/{chain['group'].uuid}/lineage/?depth=3")
    assert response.status_code == 200
    data = response.json()
    assert data["depth_up"] == data["depth_down"] == 3
    by_key = {n["key"]: n for n in data["nodes"]}
    assert by_key[chain["group"].arn]["kind"] == "feature_group"
    assert by_key[chain["group"].arn]["url"] == chain["group"].get_absolute_url()
    assert by_key["s3://raw/customers"]["kind"] == "s3"
    assert by_key[chain["endpoint"].key]["side"] == "downstream"
    assert {tuple(e["origins"]) for e in data["edges"]} == {("sagemaker",)}


def test_api_up_and_down_override_depth(chain, owner):
    data = api(owner).get(f"/api/v1/feature-groups/{chain['group'].uuid}/lineage/?depth=1&down=0").json()
    assert {n["side"] for n in data["nodes"]} == {"root", "upstream"}


def test_api_rejects_a_depth_that_is_not_a_number(chain, owner):
    response = api(owner).get(f"/api/v1/feature-groups/{chain['group'].uuid}/lineage/?depth=lots")
    assert response.status_code == 400
    assert "depth" in response.json()


def test_outsider_gets_404_for_group_lineage_json(chain, outsider):
    response = api(outsider).get(f"/api/v1/feature-groups/{chain['group'].uuid}/lineage/")
    assert response.status_code == 404


def test_anonymous_gets_no_lineage(chain):
    response = APIClient().get(f"/api/v1/feature-groups/{chain['group'].uuid}/lineage/")
    assert response.status_code in (401, 403)


def test_api_never_names_a_neighbour_group_the_user_cannot_see(org, data_scientist):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, resource_type=Grant.ResourceType.CATALOG)
    visible = FeatureGroupFactory(account=org.central)
    hidden = FeatureGroupFactory(account=org.team, name="secret_payments")
    edge(lineage_node_for_group(group=visible), lineage_node_for_group(group=hidden))
    response = api(data_scientist).get(f"/api/v1/feature-groups/{visible.uuid}/lineage/?depth=5")
    assert response.status_code == 200
    assert "secret_payments" not in response.content.decode()
    assert hidden.arn not in response.content.decode()


def test_api_graph_takes_a_bounded_number_of_queries(chain, owner, django_assert_max_num_queries):
    client = api(owner)
    with django_assert_max_num_queries(40):
        response = client.get(f"/api/v1/feature-groups/{chain['group'].uuid}/lineage/?depth=5")
    # The budget counts a whole graph, not an error page.
    assert response.status_code == 200
    body = response.json()
    assert {n["key"] for n in body["nodes"]} == {node.key for name, node in chain.items() if name != "group"}
    assert len(body["edges"]) == 6


def test_groups_met_on_the_walk_are_judged_without_a_gate_query_per_hop(org, data_scientist):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sharing.visibility import visibility_scope

    root = FeatureGroupFactory(account=org.consumer, name="consumer_root")
    shared = FeatureGroupFactory(account=org.team, name="shared_downstream")
    private = FeatureGroupFactory(account=org.team, name="private_downstream")
    GrantFactory(
        owner_account=org.team,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=shared,
        permission=Grant.Permission.READ_ONLY,
    )
    start = lineage_node_for_group(group=root)
    middle = lineage_node_for_group(group=shared)
    edge(start, middle, relation="ContributedTo")
    edge(middle, lineage_node_for_group(group=private), relation="ContributedTo")
    edge(start, lineage_node_for_group(group=private), relation="ContributedTo")
    scope = visibility_scope(data_scientist)
    with CaptureQueriesContext(connection) as captured:
        graph = selectors.lineage_graph(user=data_scientist, group=root, depth_up=0, depth_down=3, scope=scope)
    assert {n.name for n in graph.nodes} == {"consumer_root", "shared_downstream"}
    assert private.arn not in str(graph)
    # Each hop reads its edges and its nodes (with their groups); the scope in hand decides the rest.
    gate = 'SELECT "catalog_featuregroup"."id"'  # the gate's `visible_to(...).filter(pk__in=...)`
    assert [q["sql"] for q in captured.captured_queries if q["sql"].startswith(gate)] == []

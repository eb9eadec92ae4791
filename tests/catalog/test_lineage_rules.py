"""Who may write lineage into whose groups (docs/lineage.md, "Who may record what").

A consumer may record *reading* a group it can see; only people of the
owning account may record *producing* it; owners hide any edge on their
groups (for everyone), and unhide it.
"""

from __future__ import annotations

import uuid

import pytest
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import symlinks_dataset
from rest_framework.test import APIClient

from catalog.models import LineageEdge, LineageNode, OpenLineageEvent
from catalog.services import lineage as services
from tests.catalog.test_openlineage import ol_client, run_event
from tests.factories import FeatureGroupFactory, GrantFactory, api_token_issue

GROUP_S3 = "s3://sagemaker-featurestore-111111111111-eu-west-1/offline/111111111111/sagemaker/eu-west-1/offline-store/customer_profile-1700000000/data"


@pytest.fixture
def central_group(org):
    # The consumer account can discover central's catalog: data scientists see this group.
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    return FeatureGroupFactory(
        account=org.central,
        name="customer_profile",
        glue_database="sagemaker_featurestore",
        glue_table="customer_profile_1700000000",
        offline_s3_uri=GROUP_S3,
    )


def token_for(user) -> str:
    return api_token_issue(user, scope="write")


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def graph(user, group, **params) -> dict:
    response = api_for(user).get(f"/api/v1/feature-groups/{group.uuid}/lineage/", {"depth": 5, **params})
    assert response.status_code == 200
    return response.json()


def edge_pairs(data: dict) -> set[tuple[str, str]]:
    keys = {n["id"]: n["key"] for n in data["nodes"]}
    return {(keys[e["source"]], keys[e["target"]]) for e in data["edges"]}


def outputs_naming(group) -> list:
    """Every way an OpenLineage dataset can name the group."""
    bucket, _, path = GROUP_S3[len("s3://") :].partition("/")
    region, account = "eu-west-1", "111111111111"
    return [
        OutputDataset(namespace="sagemaker", name=group.arn),
        OutputDataset(namespace=f"arn:aws:sagemaker:{region}:{account}", name=f"feature-group/{group.name}"),
        OutputDataset(
            namespace=f"arn:aws:glue:{region}:{account}", name=f"table/{group.glue_database}/{group.glue_table}"
        ),
        OutputDataset(namespace=f"s3://{bucket}", name=f"{path}/part-0.parquet"),
        OutputDataset(
            namespace="s3://elsewhere",
            name="x",
            facets={
                "symlinks": symlinks_dataset.SymlinksDatasetFacet(
                    identifiers=[
                        symlinks_dataset.Identifier(
                            namespace="hive://m", name=f"{group.glue_database}.{group.glue_table}", type="TABLE"
                        )
                    ]
                )
            },
        ),
    ]


# --- OpenLineage: producing is for the owning account ----------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("form", range(5), ids=["arn", "split-arn", "glue", "s3", "symlink"])
def test_a_consumer_cannot_record_producing_another_accounts_group(live_server, data_scientist, central_group, form):
    dataset = outputs_naming(central_group)[form]
    event = run_event(inputs=[InputDataset(namespace="s3://consumer-raw", name="x")], outputs=[dataset])
    ol_client(live_server.url, token_for(data_scientist)).emit(event)

    stored = OpenLineageEvent.objects.get()
    (rejected,) = stored.rejected
    assert rejected["role"] == "output" and rejected["feature_group"] == central_group.arn
    assert "owns" in rejected["reason"]
    assert stored.matched == []
    assert not LineageEdge.objects.filter(target__feature_group=central_group).exists()
    # The allowed part is kept: the consumer's job read its own raw data.
    assert LineageEdge.objects.filter(source__key="s3://consumer-raw/x").exists()


@pytest.mark.django_db
def test_the_response_reports_what_was_rejected(data_scientist, central_group):
    payload = {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T12:00:00Z",
        "producer": "https://example.com/t",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "spark", "name": "copy"},
        "outputs": [{"namespace": "sagemaker", "name": central_group.arn}],
    }
    client = APIClient()
    response = client.post(
        "/api/v1/lineage", payload, format="json", HTTP_AUTHORIZATION=f"Bearer {token_for(data_scientist)}"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["rejected"] == [
        {
            "dataset": f"sagemaker::{central_group.arn}",
            "role": "output",
            "feature_group": central_group.arn,
            "reason": "Only people of the account that owns this feature group may record producing it.",
        }
    ]
    assert body["edges_created"] == 0
    listed = api_for(data_scientist).get("/api/v1/lineage/events/").json()["results"]
    assert listed[0]["rejected"] == body["rejected"]


@pytest.mark.django_db(transaction=True)
def test_a_consumer_may_record_reading_a_group_it_can_see(live_server, data_scientist, central_group):
    event = run_event(
        inputs=[InputDataset(namespace="sagemaker", name=central_group.arn)],
        outputs=[OutputDataset(namespace="s3://fraud-models", name="churn/v3")],
        job_name="train.churn",
    )
    ol_client(live_server.url, token_for(data_scientist)).emit(event)
    stored = OpenLineageEvent.objects.get()
    assert stored.rejected == [] and stored.matched[0]["role"] == "input"
    assert LineageEdge.objects.filter(source__feature_group=central_group, target__kind="job").exists()


@pytest.mark.django_db(transaction=True)
def test_people_of_the_owning_account_record_producing_it(live_server, owner, central_group):
    for dataset in outputs_naming(central_group):
        ol_client(live_server.url, token_for(owner)).emit(run_event(outputs=[dataset]))
    assert all(e.rejected == [] for e in OpenLineageEvent.objects.all())
    assert LineageEdge.objects.filter(target__feature_group=central_group, origin="openlineage").count() == 1


@pytest.mark.django_db
def test_an_outsider_cannot_add_inputs_to_the_owners_job(owner, outsider, central_group):
    """Jobs are per reporter: reporting the same job name joins nothing to someone else's job."""

    def post(user, inputs, outputs):
        payload = {
            "eventType": "COMPLETE",
            "eventTime": "2025-06-01T12:00:00Z",
            "producer": "https://example.com/t",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "airflow", "name": "ingest.customer_profile"},
            "inputs": inputs,
            "outputs": outputs,
        }
        response = APIClient().post(
            "/api/v1/lineage", payload, format="json", HTTP_AUTHORIZATION=f"Bearer {token_for(user)}"
        )
        assert response.status_code == 201

    post(
        owner, [{"namespace": "s3://crm", "name": "customers"}], [{"namespace": "sagemaker", "name": central_group.arn}]
    )
    post(outsider, [{"namespace": "s3://evil", "name": "junk"}], [])
    upstream = {key for key, _ in edge_pairs(graph(owner, central_group))}
    assert "s3://crm/customers" in upstream
    assert "s3://evil/junk" not in upstream
    assert LineageNode.objects.filter(kind="job").count() == 2


@pytest.mark.django_db
def test_the_same_event_from_another_user_is_theirs_not_the_first_posters(owner, governance, central_group):
    payload = {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T12:00:00Z",
        "producer": "https://example.com/t",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "spark", "name": "j"},
        "outputs": [{"namespace": "sagemaker", "name": central_group.arn}],
    }

    def post(user):
        return APIClient().post(
            "/api/v1/lineage", payload, format="json", HTTP_AUTHORIZATION=f"Bearer {token_for(user)}"
        )

    first, second = post(owner), post(governance)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    # Governance sees every group but is not of the owning account: its claim is rejected, not merged.
    assert second.json()["rejected"] and not second.json()["matched"]


# --- manual edges follow the same rule ------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_cannot_draw_their_group_into_another_accounts_group(org, central_group):
    from django.core.exceptions import ValidationError

    from catalog.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    team_owner = UserFactory(username="tina")
    MembershipFactory(user=team_owner, account=org.team, role=Membership.Role.OWNER)
    GrantFactory(owner_account=org.central, consumer_account=org.team)
    team_group = FeatureGroupFactory(account=org.team, name="merchant_risk")

    with pytest.raises(ValidationError) as excinfo:
        services.lineage_edge_add_manual(
            user=team_owner,
            group=team_group,
            direction="downstream",
            kind="feature_group",
            identifier=central_group.arn,
        )
    assert "owns" in str(excinfo.value)
    with pytest.raises(ValidationError):
        services.lineage_edge_add_manual(
            user=team_owner,
            group=team_group,
            direction="downstream",
            kind="model",
            identifier="arn:aws:sagemaker:eu-west-1:111111111111:model-package/central/1",
        )
    # Reading it is fine: central's group feeds payments' group.
    edge = services.lineage_edge_add_manual(
        user=team_owner, group=team_group, direction="upstream", kind="feature_group", identifier=central_group.arn
    )
    assert edge.source.feature_group == central_group and edge.target.feature_group == team_group


@pytest.mark.django_db
def test_manual_nodes_known_by_name_are_per_account(org, owner, central_group):
    from catalog.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    team_owner = UserFactory(username="tina")
    MembershipFactory(user=team_owner, account=org.team, role=Membership.Role.OWNER)
    team_group = FeatureGroupFactory(account=org.team, name="merchant_risk")
    mine = services.lineage_edge_add_manual(
        user=owner, group=central_group, direction="upstream", kind="job", identifier="nightly-etl"
    )
    theirs = services.lineage_edge_add_manual(
        user=team_owner, group=team_group, direction="downstream", kind="job", identifier="nightly-etl"
    )
    assert mine.source_id != theirs.target_id


# --- owners hide any edge on their groups ---------------------------------------------------------


@pytest.fixture
def consumer_read(data_scientist, central_group):
    """A consumer's training job that reads the central group (an edge on the group)."""
    payload = {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T12:00:00Z",
        "producer": "https://example.com/t",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "fraud", "name": "train.churn"},
        "inputs": [{"namespace": "sagemaker", "name": central_group.arn}],
    }
    response = APIClient().post(
        "/api/v1/lineage", payload, format="json", HTTP_AUTHORIZATION=f"Bearer {token_for(data_scientist)}"
    )
    assert response.status_code == 201
    return {"payload": payload, "edge": LineageEdge.objects.get(source__feature_group=central_group)}


def hide_url(group, edge, action="hide") -> str:
    return f"/api/v1/feature-groups/{group.uuid}/lineage/edges/{edge.uuid}/{action}/"


@pytest.mark.django_db
def test_owner_hides_an_edge_for_everyone_and_it_stays_recorded(
    owner, governance, data_scientist, central_group, consumer_read
):
    edge = consumer_read["edge"]
    response = api_for(owner).post(hide_url(central_group, edge))
    assert response.status_code == 200, response.content

    for user in (owner, governance, data_scientist):
        assert len(graph(user, central_group)["nodes"]) == 1, user
    edge.refresh_from_db()
    assert edge.hidden_by == owner and edge.hidden_at is not None

    hidden = api_for(owner).get(f"/api/v1/feature-groups/{central_group.uuid}/lineage/hidden-edges/").json()
    assert [h["id"] for h in hidden] == [str(edge.uuid)]
    assert hidden[0]["hidden_by"] == owner.username


@pytest.mark.django_db
def test_a_hidden_edge_stays_hidden_when_the_event_comes_again(owner, data_scientist, central_group, consumer_read):
    api_for(owner).post(hide_url(central_group, consumer_read["edge"]))
    payload = {**consumer_read["payload"], "run": {"runId": str(uuid.uuid4())}}
    APIClient().post(
        "/api/v1/lineage", payload, format="json", HTTP_AUTHORIZATION=f"Bearer {token_for(data_scientist)}"
    )
    assert len(graph(owner, central_group)["nodes"]) == 1


@pytest.mark.django_db
def test_owner_unhides_an_edge(owner, central_group, consumer_read):
    edge = consumer_read["edge"]
    api_for(owner).post(hide_url(central_group, edge))
    assert api_for(owner).post(hide_url(central_group, edge, "unhide")).status_code == 200
    assert len(graph(owner, central_group)["nodes"]) == 2
    edge.refresh_from_db()
    assert edge.hidden_at is None and edge.hidden_by is None


@pytest.mark.django_db
def test_only_owners_hide_and_outsiders_learn_nothing(
    data_scientist, outsider, governance, central_group, consumer_read
):
    edge = consumer_read["edge"]
    assert api_for(data_scientist).post(hide_url(central_group, edge)).status_code == 403
    assert api_for(governance).post(hide_url(central_group, edge)).status_code == 403
    assert api_for(outsider).post(hide_url(central_group, edge)).status_code == 404
    assert (
        api_for(data_scientist).get(f"/api/v1/feature-groups/{central_group.uuid}/lineage/hidden-edges/").status_code
        == 403
    )


@pytest.mark.django_db
def test_an_edge_that_does_not_touch_the_group_cannot_be_hidden_through_it(owner, org, central_group, consumer_read):
    other = FeatureGroupFactory(account=org.central, name="orders")
    assert api_for(owner).post(hide_url(other, consumer_read["edge"])).status_code == 404
    assert (
        api_for(owner)
        .post(f"/api/v1/feature-groups/{central_group.uuid}/lineage/edges/{uuid.uuid4()}/hide/")
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_owner_hides_and_unhides_from_the_lineage_page(client, owner, central_group, consumer_read):
    edge = consumer_read["edge"]
    client.force_login(owner)
    page = client.get(f"/groups/{central_group.uuid}/lineage/").content.decode()
    assert f"/lineage/edges/{edge.uuid}/hide/" in page
    response = client.post(f"/groups/{central_group.uuid}/lineage/edges/{edge.uuid}/hide/")
    assert response.status_code == 302
    page = client.get(f"/groups/{central_group.uuid}/lineage/").content.decode()
    assert "Hidden edges" in page and f"/lineage/edges/{edge.uuid}/unhide/" in page
    client.post(f"/groups/{central_group.uuid}/lineage/edges/{edge.uuid}/unhide/")
    edge.refresh_from_db()
    assert edge.hidden_at is None


# --- the SageMaker lineage sync follows the same rule ----------------------------------------------


@pytest.mark.django_db
def test_an_accounts_sagemaker_lineage_cannot_produce_another_accounts_group(org, central_group):
    """payments-ml's lineage holds a FeatureGroup context whose source is central's group (anyone can
    create one with any SourceUri): its sync must not draw payments' job into central's group."""
    from tests.catalog.test_lineage_sync import assoc, context_summary, stubbed_client, vertex

    team_group = FeatureGroupFactory(account=org.team, name="merchant_risk")
    prefix = f"arn:aws:sagemaker:eu-west-1:{org.team.account_id}"
    own_ctx, forged_ctx, job = f"{prefix}:context/merchant-risk-fg", f"{prefix}:context/forged", f"{prefix}:action/j"
    client, stub = stubbed_client()
    stub.add_response(
        "list_contexts",
        {
            "ContextSummaries": [
                context_summary(own_ctx, team_group.arn),
                context_summary(forged_ctx, central_group.arn),
            ]
        },
        {"ContextType": "FeatureGroup", "MaxResults": 100},
    )
    stub.add_response(
        "query_lineage",
        {
            "Vertices": [
                vertex(own_ctx, "FeatureGroup", "Context"),
                vertex(job, "ProcessingJob", "Action"),
                vertex(forged_ctx, "FeatureGroup", "Context"),
            ],
            "Edges": [assoc(own_ctx, job, "ContributedTo"), assoc(job, forged_ctx, "Produced")],
        },
        {"StartArns": [own_ctx], "Direction": "Both", "IncludeEdges": True, "MaxDepth": 5, "MaxResults": 50},
    )
    with stub:
        counts = services.lineage_sync(account=org.team, region="eu-west-1", session=client)
    assert counts["edges_refused"] == 1
    assert not LineageEdge.objects.filter(target__feature_group=central_group).exists()
    assert LineageEdge.objects.filter(source__feature_group=team_group, target__key=job).exists()

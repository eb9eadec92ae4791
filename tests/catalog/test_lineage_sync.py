"""SageMaker lineage: the LineageGateway against botocore's Stubber (which checks every request and
response against AWS's API model), lineage_sync's mapping, idempotency and removal of vanished
edges, and the same sync end to end against the sandbox endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from catalog.gateways.lineage import LineageEntity, LineageGateway
from catalog.models import LineageEdge, LineageNode
from catalog.services import lineage as services
from portal import aws
from tests.aws_stubs import StubSession
from tests.factories import FeatureGroupFactory

REGION = "eu-west-1"
ACCOUNT = "111111111111"
PREFIX = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
NOW = datetime(2025, 1, 1, tzinfo=UTC)

FG_ARN = f"{PREFIX}:feature-group/customer_profile"
FG_CTX = f"{PREFIX}:context/customer-profile-1700000000-feature-group"
RAW = f"{PREFIX}:artifact/0123456789abcdef0123456789abcdef"
GLUE = f"{PREFIX}:artifact/fedcba9876543210fedcba9876543210"
MODEL = f"{PREFIX}:artifact/aaaabbbbccccddddeeeeffff00001111"
JOB = f"{PREFIX}:action/customer-profile-ingest"
PIPELINE = f"{PREFIX}:context/customer-features-pipeline"
TRAIN = f"{PREFIX}:action/churn-training"
ENDPOINT = f"{PREFIX}:context/churn-endpoint"


def stubbed_client():
    session = StubSession()
    return session, session.stubber


def context_summary(arn: str, uri: str, ctype: str = "FeatureGroup") -> dict:
    return {
        "ContextArn": arn,
        "ContextName": arn.rsplit("/", 1)[-1],
        "Source": {"SourceUri": uri, "SourceType": "ARN"},
        "ContextType": ctype,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


def vertex(arn: str, vtype: str, lineage_type: str) -> dict:
    return {"Arn": arn, "Type": vtype, "LineageType": lineage_type}


def assoc(src: str, dst: str, kind: str) -> dict:
    return {"SourceArn": src, "DestinationArn": dst, "AssociationType": kind}


def artifact(arn: str, name: str, uri: str, atype: str) -> dict:
    return {"ArtifactArn": arn, "ArtifactName": name, "Source": {"SourceUri": uri}, "ArtifactType": atype}


# --- the gateway -------------------------------------------------------------------------


def test_gateway_pages_through_every_context():
    client, stub = stubbed_client()
    stub.add_response(
        "list_contexts",
        {"ContextSummaries": [context_summary(FG_CTX, FG_ARN)], "NextToken": "page-2"},
        {"ContextType": "FeatureGroup", "MaxResults": 100},
    )
    other = f"{PREFIX}:context/orders-1700000000-feature-group"
    stub.add_response(
        "list_contexts",
        {"ContextSummaries": [context_summary(other, f"{PREFIX}:feature-group/orders")]},
        {"ContextType": "FeatureGroup", "MaxResults": 100, "NextToken": "page-2"},
    )
    with stub:
        contexts = list(LineageGateway(client).feature_group_contexts())
    stub.assert_no_pending_responses()
    assert [c.source_uri for c in contexts] == [FG_ARN, f"{PREFIX}:feature-group/orders"]
    assert contexts[0] == LineageEntity(
        arn=FG_CTX,
        lineage_type="Context",
        type="FeatureGroup",
        name="customer-profile-1700000000-feature-group",
        source_uri=FG_ARN,
    )
    assert client.counter.as_dict() == {"ListContexts": 2}


def test_gateway_query_lineage_follows_next_token_and_merges_pages():
    client, stub = stubbed_client()
    params = {"StartArns": [FG_CTX], "Direction": "Both", "IncludeEdges": True, "MaxDepth": 5, "MaxResults": 50}
    stub.add_response(
        "query_lineage",
        {
            "Vertices": [vertex(FG_CTX, "FeatureGroup", "Context"), vertex(JOB, "ProcessingJob", "Action")],
            "Edges": [assoc(JOB, FG_CTX, "Produced")],
            "NextToken": "more",
        },
        params,
    )
    stub.add_response(
        "query_lineage",
        {"Vertices": [vertex(RAW, "DataSet", "Artifact")], "Edges": [assoc(RAW, JOB, "ContributedTo")]},
        {**params, "NextToken": "more"},
    )
    with stub:
        result = LineageGateway(client).query_lineage(start_arn=FG_CTX)
    assert {v.arn for v in result.vertices} == {FG_CTX, JOB, RAW}
    assert {(e.source_arn, e.destination_arn, e.association_type) for e in result.edges} == {
        (JOB, FG_CTX, "Produced"),
        (RAW, JOB, "ContributedTo"),
    }


def test_gateway_caps_max_depth_at_the_api_limit():
    client, stub = stubbed_client()
    stub.add_response(
        "query_lineage",
        {"Vertices": [], "Edges": []},
        {"StartArns": [FG_CTX], "Direction": "Ascendants", "IncludeEdges": True, "MaxDepth": 10, "MaxResults": 50},
    )
    with stub:
        LineageGateway(client).query_lineage(start_arn=FG_CTX, direction="Ascendants", max_depth=99)
    stub.assert_no_pending_responses()


def test_gateway_pages_associations():
    client, stub = stubbed_client()
    base = {"SourceArn": JOB, "AssociationType": "AssociatedWith", "MaxResults": 100}
    summary = {
        "SourceArn": JOB,
        "DestinationArn": PIPELINE,
        "SourceType": "ProcessingJob",
        "DestinationType": "SageMakerPipeline",
        "AssociationType": "AssociatedWith",
        "SourceName": "customer-profile-ingest",
        "DestinationName": "customer-features-pipeline",
    }
    stub.add_response("list_associations", {"AssociationSummaries": [summary], "NextToken": "t"}, base)
    stub.add_response("list_associations", {"AssociationSummaries": []}, {**base, "NextToken": "t"})
    with stub:
        found = list(LineageGateway(client).list_associations(source_arn=JOB, association_type="AssociatedWith"))
    assert [(a.destination_arn, a.destination_type) for a in found] == [(PIPELINE, "SageMakerPipeline")]


def test_gateway_maps_access_denied_and_missing_resources():
    client, stub = stubbed_client()
    stub.add_client_error("list_contexts", service_error_code="AccessDeniedException", http_status_code=400)
    stub.add_client_error("describe_artifact", service_error_code="ResourceNotFound", http_status_code=400)
    gateway = LineageGateway(client)
    with stub:
        with pytest.raises(aws.AwsAccessDenied) as denied:
            list(gateway.feature_group_contexts())
        with pytest.raises(aws.AwsNotFound):
            gateway.describe_artifact(RAW)
    assert denied.value.operation == "ListContexts"


# --- lineage_sync with stubbed AWS -------------------------------------------------------------


def stub_sync(stub: Stubber, *, with_model: bool = True, describe: bool = True) -> None:
    stub.add_response(
        "list_contexts",
        {"ContextSummaries": [context_summary(FG_CTX, FG_ARN)]},
        {"ContextType": "FeatureGroup", "MaxResults": 100},
    )
    vertices = [
        vertex(FG_CTX, "FeatureGroup", "Context"),
        vertex(JOB, "ProcessingJob", "Action"),
        vertex(RAW, "DataSet", "Artifact"),
        vertex(GLUE, "DataSet", "Artifact"),
        vertex(TRAIN, "TrainingJob", "Action"),
    ]
    edges = [
        assoc(RAW, JOB, "ContributedTo"),
        assoc(GLUE, JOB, "ContributedTo"),
        assoc(JOB, FG_CTX, "Produced"),
        assoc(FG_CTX, TRAIN, "ContributedTo"),
    ]
    if with_model:
        vertices += [vertex(MODEL, "Model", "Artifact"), vertex(ENDPOINT, "Endpoint", "Context")]
        edges += [assoc(TRAIN, MODEL, "Produced"), assoc(MODEL, ENDPOINT, "ContributedTo")]
    stub.add_response(
        "query_lineage",
        {"Vertices": vertices, "Edges": edges},
        {"StartArns": [FG_CTX], "Direction": "Both", "IncludeEdges": True, "MaxDepth": 5, "MaxResults": 50},
    )
    stub.add_response(
        "list_associations",
        {
            "AssociationSummaries": [
                {
                    "SourceArn": JOB,
                    "DestinationArn": PIPELINE,
                    "DestinationType": "SageMakerPipeline",
                    "AssociationType": "AssociatedWith",
                }
            ]
        },
        {"SourceArn": JOB, "AssociationType": "AssociatedWith", "MaxResults": 100},
    )
    if describe:
        stub.add_response(
            "describe_artifact",
            artifact(RAW, "raw-customers", "s3://raw-111111111111/crm/customers/", "DataSet"),
            {"ArtifactArn": RAW},
        )
        stub.add_response(
            "describe_artifact",
            artifact(GLUE, "glue-customers", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/crm/customers", "DataSet"),
            {"ArtifactArn": GLUE},
        )
        if with_model:
            stub.add_response(
                "describe_artifact",
                artifact(MODEL, "churn-model", "s3://models/churn/model.tar.gz", "Model"),
                {"ArtifactArn": MODEL},
            )


def sync(stub_config, account, **kwargs) -> tuple[dict, aws.CallCounter]:
    session, stub = stubbed_client()
    stub_config(stub, **kwargs)
    with stub:
        counts = services.lineage_sync(account=account, region=REGION, session=session)
    stub.assert_no_pending_responses()
    return counts, session.counter


@pytest.fixture
def central_group(org):
    return FeatureGroupFactory(account=org.central, name="customer_profile", arn=FG_ARN)


@pytest.mark.django_db
def test_sync_maps_sagemaker_lineage_to_nodes_and_edges(org, central_group):
    counts, counter = sync(stub_sync, org.central)
    assert counts["edges_created"] == 7 and counts["edges_removed"] == 0
    assert counter.as_dict() == {"DescribeArtifact": 3, "ListAssociations": 1, "ListContexts": 1, "QueryLineage": 1}
    kinds = dict(LineageNode.objects.values_list("key", "kind"))
    assert kinds == {
        FG_ARN: "feature_group",
        "s3://raw-111111111111/crm/customers": "s3",
        "glue://crm/customers": "glue_table",
        JOB: "processing_job",
        PIPELINE: "pipeline",
        TRAIN: "training_job",
        MODEL: "model",
        ENDPOINT: "endpoint",
    }
    assert LineageNode.objects.get(key=FG_ARN).feature_group == central_group
    assert LineageNode.objects.get(key=MODEL).name == "churn-model"
    assert set(LineageEdge.objects.values_list("origin", flat=True)) == {"sagemaker"}
    assert LineageEdge.objects.get(source__key=JOB, target__key=FG_ARN).relation == "Produced"


@pytest.mark.django_db
def test_sync_twice_is_idempotent_and_describes_each_artifact_once(org, central_group):
    sync(stub_sync, org.central)
    before = LineageEdge.objects.get(source__key=JOB, target__key=FG_ARN).last_seen_at
    counts, counter = sync(stub_sync, org.central, describe=False)
    assert counts["edges_created"] == 0 and counts["edges_removed"] == 0
    assert "DescribeArtifact" not in counter.as_dict()
    assert LineageNode.objects.count() == 8 and LineageEdge.objects.count() == 7
    assert LineageEdge.objects.get(source__key=JOB, target__key=FG_ARN).last_seen_at > before


@pytest.mark.django_db
def test_sync_removes_sagemaker_edges_aws_no_longer_reports_but_keeps_other_origins(org, central_group, owner):
    sync(stub_sync, org.central)
    services.lineage_edge_add_manual(
        user=owner, group=central_group, direction="downstream", kind="model", identifier="shadow-model"
    )
    counts, _ = sync(stub_sync, org.central, with_model=False, describe=False)
    assert counts["edges_removed"] == 2
    assert not LineageEdge.objects.filter(target__key=MODEL).exists()
    assert not LineageEdge.objects.filter(target__key=ENDPOINT).exists()
    assert LineageEdge.objects.filter(origin="manual").count() == 1
    assert LineageEdge.objects.filter(origin="sagemaker").count() == 5


@pytest.mark.django_db
def test_failed_read_changes_nothing(org, central_group):
    sync(stub_sync, org.central)
    client, stub = stubbed_client()
    stub.add_response(
        "list_contexts",
        {"ContextSummaries": [context_summary(FG_CTX, FG_ARN)]},
        {"ContextType": "FeatureGroup", "MaxResults": 100},
    )
    stub.add_client_error("query_lineage", service_error_code="ThrottlingException", http_status_code=400)
    with stub, pytest.raises(aws.AwsThrottled):
        services.lineage_sync(account=org.central, region=REGION, session=client)
    assert LineageEdge.objects.count() == 7


@pytest.mark.django_db
def test_sync_of_another_account_leaves_this_accounts_edges_alone(org, central_group):
    sync(stub_sync, org.central)
    client, stub = stubbed_client()
    stub.add_response("list_contexts", {"ContextSummaries": []}, {"ContextType": "FeatureGroup", "MaxResults": 100})
    with stub:
        counts = services.lineage_sync(account=org.team, region=REGION, session=client)
    assert counts["edges_removed"] == 0
    assert LineageEdge.objects.count() == 7


# --- end to end against the sandbox ----------------------------------------------------------


@pytest.mark.django_db
def test_lineage_sync_against_the_sandbox(aws_sandbox, operator):
    from catalog.models import FeatureGroup
    from catalog.selectors.lineage import lineage_graph
    from catalog.services import sync as sync_services
    from tests.aws_fixtures import sandbox_client, sandbox_feature_group, sandbox_owner_account

    acct = "333333333333"  # not one of the personas' accounts
    prefix = f"arn:aws:sagemaker:{REGION}:{acct}"
    account = sandbox_owner_account(aws_sandbox.url, account_id=acct, name="lineage-e2e")
    fg_arn = sandbox_feature_group(aws_sandbox.url, acct, "customer_profile", features=3)
    (run,) = sync_services.sync_request(account=account, region=REGION)
    sync_services.sync_run_execute(run_uuid=str(run.uuid))
    group = FeatureGroup.objects.get(arn=fg_arn)

    sm = sandbox_client(aws_sandbox.url, acct)
    fg_ctx = sm.list_contexts(SourceUri=fg_arn, ContextType="FeatureGroup")["ContextSummaries"][0]["ContextArn"]
    raw = sm.create_artifact(
        ArtifactName="raw-customers", Source={"SourceUri": "s3://raw-bucket/crm/customers/"}, ArtifactType="DataSet"
    )["ArtifactArn"]
    job = sm.create_action(
        ActionName="customer-profile-ingest",
        Source={"SourceUri": f"{prefix}:processing-job/customer-profile-ingest"},
        ActionType="ProcessingJob",
    )["ActionArn"]
    pipeline = sm.create_context(
        ContextName="crm-features-pipeline",
        Source={"SourceUri": f"{prefix}:pipeline/crm-features"},
        ContextType="SageMakerPipeline",
    )["ContextArn"]
    train = sm.create_action(
        ActionName="churn-training", Source={"SourceUri": f"{prefix}:training-job/churn"}, ActionType="TrainingJob"
    )["ActionArn"]
    model = sm.create_artifact(
        ArtifactName="churn-model", Source={"SourceUri": "s3://models/churn/model.tar.gz"}, ArtifactType="Model"
    )["ArtifactArn"]
    for src, dst, kind in [
        (raw, job, "ContributedTo"),
        (job, fg_ctx, "Produced"),
        (job, pipeline, "AssociatedWith"),
        (fg_ctx, train, "ContributedTo"),
        (train, model, "Produced"),
    ]:
        sm.add_association(SourceArn=src, DestinationArn=dst, AssociationType=kind)

    session = aws.account_session(
        aws.AccountRole(account_id=acct, role_arn=account.role_arn, external_id=account.external_id), REGION
    )
    counts = services.lineage_sync(account=account, region=REGION, session=session)
    assert counts["edges_created"] == 5

    graph = lineage_graph(user=operator, group=group, depth_up=3, depth_down=3)
    by_key = {n.key: n for n in graph.nodes}
    assert by_key["s3://raw-bucket/crm/customers"].kind == "s3"
    assert by_key[job].kind == "processing_job"
    assert by_key[pipeline].kind == "pipeline"
    assert by_key[train].kind == "training_job"
    assert by_key[model].kind == "model" and by_key[model].name == "churn-model"

    sm.delete_association(SourceArn=train, DestinationArn=model)
    again = services.lineage_sync(account=account, region=REGION, session=session)
    assert again["edges_created"] == 0 and again["edges_removed"] == 1
    assert not LineageEdge.objects.filter(target__key=model).exists()

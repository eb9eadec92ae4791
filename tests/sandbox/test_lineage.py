"""ML lineage of the sandbox (artifacts, contexts, actions, associations, QueryLineage)."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.exceptions import ClientError

MODEL = botocore.session.get_session().get_service_model("sagemaker")


def keys(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


@pytest.fixture
def chain(sm):
    fg_arn = sm.create_feature_group(
        FeatureGroupName="card_features",
        RecordIdentifierFeatureName="card_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=[
            {"FeatureName": "card_id", "FeatureType": "String"},
            {"FeatureName": "event_time", "FeatureType": "Fractional"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True},
    )["FeatureGroupArn"]
    fg_ctx = sm.list_contexts(SourceUri=fg_arn, ContextType="FeatureGroup")["ContextSummaries"][0]["ContextArn"]
    raw = sm.create_artifact(ArtifactName="raw-auths", Source={"SourceUri": "s3://raw/auths/"}, ArtifactType="DataSet")[
        "ArtifactArn"
    ]
    job = sm.create_action(
        ActionName="card-ingest",
        Source={"SourceUri": "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/card-ingest"},
        ActionType="ProcessingJob",
        Status="Completed",
    )["ActionArn"]
    train = sm.create_action(
        ActionName="fraud-training",
        Source={"SourceUri": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/fraud"},
        ActionType="TrainingJob",
    )["ActionArn"]
    model = sm.create_artifact(Source={"SourceUri": "s3://models/fraud/model.tar.gz"}, ArtifactType="Model")[
        "ArtifactArn"
    ]
    endpoint = sm.create_context(
        ContextName="fraud-endpoint",
        Source={"SourceUri": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/fraud"},
        ContextType="Endpoint",
    )["ContextArn"]
    sm.add_association(SourceArn=raw, DestinationArn=job, AssociationType="ContributedTo")
    sm.add_association(SourceArn=job, DestinationArn=fg_ctx, AssociationType="Produced")
    sm.add_association(SourceArn=fg_ctx, DestinationArn=train, AssociationType="ContributedTo")
    sm.add_association(SourceArn=train, DestinationArn=model, AssociationType="Produced")
    sm.add_association(SourceArn=model, DestinationArn=endpoint, AssociationType="ContributedTo")
    return {
        "fg": fg_arn,
        "fg_ctx": fg_ctx,
        "raw": raw,
        "job": job,
        "train": train,
        "model": model,
        "endpoint": endpoint,
    }


def test_entities_describe_and_list(sm, chain):
    ctx = sm.describe_context(ContextName=chain["fg_ctx"].rsplit("/", 1)[1])
    assert ctx["ContextType"] == "FeatureGroup" and ctx["Source"]["SourceUri"] == chain["fg"]
    art = sm.describe_artifact(ArtifactArn=chain["raw"])
    assert art["ArtifactType"] == "DataSet" and art["Source"]["SourceUri"] == "s3://raw/auths/"
    act = sm.describe_action(ActionName="card-ingest")
    assert act["Status"] == "Completed"
    for op, key, shape in (
        ("list_artifacts", "ArtifactSummaries", "ArtifactSummary"),
        ("list_contexts", "ContextSummaries", "ContextSummary"),
        ("list_actions", "ActionSummaries", "ActionSummary"),
    ):
        items = getattr(sm, op)()[key]
        assert items and all(set(i) <= keys(shape) for i in items)
    assert len(sm.list_artifacts(ArtifactType="Model")["ArtifactSummaries"]) == 1
    with pytest.raises(ClientError) as exc:
        sm.describe_context(ContextName="missing")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"


def test_list_associations_filters_and_paging(sm, chain):
    down = sm.list_associations(SourceArn=chain["fg_ctx"])["AssociationSummaries"]
    assert [(a["DestinationArn"], a["AssociationType"], a["DestinationType"]) for a in down] == [
        (chain["train"], "ContributedTo", "TrainingJob")
    ]
    assert set(down[0]) <= keys("AssociationSummary")
    up = sm.list_associations(DestinationArn=chain["fg_ctx"])["AssociationSummaries"]
    assert [a["SourceArn"] for a in up] == [chain["job"]]
    pages = list(sm.get_paginator("list_associations").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3 and sum(len(p["AssociationSummaries"]) for p in pages) == 5
    with pytest.raises(ClientError) as exc:
        sm.add_association(
            SourceArn=chain["raw"], DestinationArn="arn:aws:sagemaker:eu-west-1:123456789012:context/nope"
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"


def test_query_lineage(sm, chain):
    down = sm.query_lineage(StartArns=[chain["fg_ctx"]], Direction="Descendants", IncludeEdges=True)
    assert {v["Arn"] for v in down["Vertices"]} == {chain[k] for k in ("fg_ctx", "train", "model", "endpoint")}
    assert all(set(v) <= keys("Vertex") for v in down["Vertices"])
    assert {(e["SourceArn"], e["DestinationArn"], e["AssociationType"]) for e in down["Edges"]} == {
        (chain["fg_ctx"], chain["train"], "ContributedTo"),
        (chain["train"], chain["model"], "Produced"),
        (chain["model"], chain["endpoint"], "ContributedTo"),
    }
    up = sm.query_lineage(StartArns=[chain["fg_ctx"]], Direction="Ascendants", IncludeEdges=False)
    assert {v["Arn"] for v in up["Vertices"]} == {chain["fg_ctx"], chain["job"], chain["raw"]}
    assert not up.get("Edges")
    both = sm.query_lineage(StartArns=[chain["fg_ctx"]], Direction="Both", MaxDepth=1)
    assert {v["Arn"] for v in both["Vertices"]} == {chain["fg_ctx"], chain["job"], chain["train"]}
    types = {
        v["Arn"]: (v["Type"], v["LineageType"])
        for v in sm.query_lineage(StartArns=[chain["raw"]], Direction="Descendants")["Vertices"]
    }
    assert types[chain["raw"]] == ("DataSet", "Artifact") and types[chain["endpoint"]] == ("Endpoint", "Context")


@pytest.mark.parametrize(
    ("params", "member", "limit"),
    [
        ({"StartArns": ["FG", "RAW"]}, "startArns", "Member must have length less than or equal to 1"),
        ({"MaxDepth": 11}, "maxDepth", "Member must have value less than or equal to 10"),
        ({"MaxResults": 51}, "maxResults", "Member must have value less than or equal to 50"),
    ],
)
def test_query_lineage_enforces_the_documented_limits(sm, chain, params, member, limit):
    params = {"StartArns": [chain["fg_ctx"]], **params}
    if params["StartArns"] == ["FG", "RAW"]:
        params["StartArns"] = [chain["fg_ctx"], chain["raw"]]

    with pytest.raises(ClientError) as exc:
        sm.query_lineage(**params)

    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert f"at '{member}' failed to satisfy constraint: {limit}" in error["Message"]
    assert "Traceback" not in error["Message"] and "Error(" not in error["Message"]


def test_query_lineage_pages_vertices_and_every_edge_arrives_once(sm, chain):
    whole = sm.query_lineage(StartArns=[chain["raw"]], Direction="Descendants", MaxResults=50)
    assert "NextToken" not in whole and len(whole["Vertices"]) == 6
    vertices, edges, token, pages = [], [], None, 0
    while True:
        page = sm.query_lineage(
            StartArns=[chain["raw"]], Direction="Descendants", MaxResults=2, **({"NextToken": token} if token else {})
        )
        pages += 1
        assert len(page["Vertices"]) <= 2
        vertices += [v["Arn"] for v in page["Vertices"]]
        edges += [(e["SourceArn"], e["DestinationArn"]) for e in page["Edges"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3
    assert sorted(vertices) == sorted(v["Arn"] for v in whole["Vertices"])
    assert sorted(edges) == sorted((e["SourceArn"], e["DestinationArn"]) for e in whole["Edges"])

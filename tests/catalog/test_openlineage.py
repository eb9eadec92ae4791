"""OpenLineage ingestion: events posted by the real openlineage-python client to a live server,
matching to feature groups, unmatched datasets, strict validation, tokens and idempotency."""

from __future__ import annotations

import copy
import uuid

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import symlinks_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport
from rest_framework.test import APIClient

from catalog.models import LineageEdge, LineageNode, OpenLineageEvent
from tests.factories import FeatureGroupFactory, GrantFactory, api_token_issue

PRODUCER = "https://github.com/example/pantry-tests"
EVENT_TIME = "2025-06-01T12:00:00.000000+00:00"


@pytest.fixture
def groups(org):
    by_arn = FeatureGroupFactory(account=org.central, name="customer_profile")
    by_glue = FeatureGroupFactory(
        account=org.central,
        name="customer_orders",
        glue_database="sagemaker_featurestore",
        glue_table="customer_orders_1700000000",
    )
    by_s3 = FeatureGroupFactory(
        account=org.central,
        name="card_spend",
        offline_s3_uri="s3://sagemaker-featurestore-111111111111-eu-west-1/offline/111111111111/sagemaker/eu-west-1/offline-store/card_spend-1700000000/data",
    )
    hidden = FeatureGroupFactory(account=org.unrelated, name="lab_secret", glue_database="lab", glue_table="secret")
    return {"arn": by_arn, "glue": by_glue, "s3": by_s3, "hidden": hidden}


@pytest.fixture
def token(owner) -> str:
    return api_token_issue(owner, scope="write")


def ol_client(url: str, key: str) -> OpenLineageClient:
    return OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": key}))))


def run_event(
    *, inputs=(), outputs=(), run_id: str | None = None, job_name: str = "feature_ingest.customer"
) -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=EVENT_TIME,
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace="airflow://prod", name=job_name),
        producer=PRODUCER,
        inputs=list(inputs),
        outputs=list(outputs),
    )


# --- through the real client against a live server ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_client_event_matches_groups_by_arn_glue_table_and_s3_uri(live_server, token, groups, owner):
    s3 = groups["s3"]
    bucket, _, path = s3.offline_s3_uri[len("s3://") :].partition("/")
    event = run_event(
        inputs=[
            InputDataset(namespace="s3://raw-events", name="clickstream/2025"),
            InputDataset(
                namespace="arn:aws:glue:eu-west-1:111111111111",
                name="table/sagemaker_featurestore/customer_orders_1700000000",
            ),
        ],
        outputs=[
            OutputDataset(namespace="sagemaker", name=groups["arn"].arn),
            OutputDataset(namespace=f"s3://{bucket}", name=f"{path}/year=2025/part-0.parquet"),
        ],
    )
    ol_client(live_server.url, token).emit(event)

    stored = OpenLineageEvent.objects.get()
    assert stored.submitted_by == owner
    assert stored.event_type == "COMPLETE" and stored.job_name == "feature_ingest.customer"
    matched = {m["feature_group"]: m["matched_by"] for m in stored.matched}
    assert matched == {groups["arn"].arn: "arn", groups["glue"].arn: "glue", s3.arn: "s3"}
    assert stored.unmatched == [{"dataset": "s3://raw-events::clickstream/2025", "role": "input"}]

    job = LineageNode.objects.get(kind="job")
    # One job node per reporter (docs/lineage.md), named as the event names it.
    assert job.key.startswith("openlineage-job:") and job.key.endswith(":airflow://prod::feature_ingest.customer")
    assert job.name == "feature_ingest.customer"
    assert job.properties["openlineage"] == {"namespace": "airflow://prod", "name": "feature_ingest.customer"}
    edges = LineageEdge.objects.filter(origin="openlineage")
    assert edges.count() == 4
    assert all(e.created_by == owner and e.openlineage_event == stored for e in edges)
    assert edges.filter(source__feature_group=groups["glue"], target=job).exists()
    assert edges.filter(source=job, target__feature_group=groups["arn"]).exists()
    assert edges.filter(source=job, target__feature_group=s3).exists()
    raw = LineageNode.objects.get(key="s3://raw-events/clickstream/2025")
    assert raw.kind == "s3" and edges.filter(source=raw, target=job).exists()


@pytest.mark.django_db(transaction=True)
def test_client_dataset_symlink_to_a_warehouse_table_matches_by_glue(live_server, token, groups):
    dataset = OutputDataset(
        namespace="s3://some-other-bucket",
        name="exports/orders",
        facets={
            "symlinks": symlinks_dataset.SymlinksDatasetFacet(
                identifiers=[
                    symlinks_dataset.Identifier(
                        namespace="hive://metastore",
                        name="sagemaker_featurestore.customer_orders_1700000000",
                        type="TABLE",
                    )
                ]
            )
        },
    )
    ol_client(live_server.url, token).emit(run_event(outputs=[dataset]))
    (match,) = OpenLineageEvent.objects.get().matched
    assert match["feature_group"] == groups["glue"].arn and match["matched_by"] == "glue"


@pytest.mark.django_db(transaction=True)
def test_client_same_event_twice_creates_no_duplicates(live_server, token, groups):
    event = run_event(
        run_id=str(uuid.uuid4()),
        inputs=[InputDataset(namespace="s3://raw", name="x")],
        outputs=[OutputDataset(namespace="sagemaker", name=groups["arn"].arn)],
    )
    client = ol_client(live_server.url, token)
    client.emit(event)
    client.emit(event)
    assert OpenLineageEvent.objects.count() == 1
    assert LineageEdge.objects.count() == 2
    assert LineageNode.objects.filter(kind="job").count() == 1


@pytest.mark.django_db(transaction=True)
def test_client_with_a_bad_token_gets_401_and_nothing_is_stored(live_server, token, groups):
    with pytest.raises(requests.HTTPError) as excinfo:
        ol_client(live_server.url, "not-a-real-token").emit(
            run_event(inputs=[InputDataset(namespace="s3://raw", name="x")])
        )
    assert excinfo.value.response.status_code == 401
    assert not OpenLineageEvent.objects.exists()
    assert not LineageEdge.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_unknown_datasets_are_stored_and_listed_as_unmatched(live_server, token, operator, groups):
    event = run_event(
        inputs=[InputDataset(namespace="postgres://crm-db:5432", name="crm.public.customers")],
        outputs=[OutputDataset(namespace="bigquery", name="project.dataset.table")],
    )
    ol_client(live_server.url, token).emit(event)
    stored = OpenLineageEvent.objects.get()
    assert stored.matched == []
    assert {u["dataset"] for u in stored.unmatched} == {
        "postgres://crm-db:5432::crm.public.customers",
        "bigquery::project.dataset.table",
    }
    api = APIClient()
    api.force_authenticate(operator)
    listed = api.get("/api/v1/lineage/events/").json()["results"]
    assert listed[0]["unmatched"] == stored.unmatched


# --- validation and auth through the API client ------------------------------------------------


def valid_payload(**overrides) -> dict:
    payload = {
        "eventType": "COMPLETE",
        "eventTime": EVENT_TIME,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "spark", "name": "daily_features"},
        "inputs": [{"namespace": "s3://raw", "name": "events"}],
        "outputs": [],
    }
    payload.update(overrides)
    return payload


def post(payload, *, token: str | None = None, keyword: str = "Bearer", **kwargs):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"{keyword} {token}"} if token else {}
    return client.post("/api/v1/lineage", payload, format="json", **headers, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        (lambda p: p.update(eventTime="yesterday"), "eventTime"),
        (lambda p: p.pop("eventTime"), "eventTime"),
        (lambda p: p.update(eventType="FINISHED"), "eventType"),
        (lambda p: p["run"].update(runId="not-a-uuid"), "run"),
        (lambda p: p.pop("job"), "job"),
        (lambda p: p["job"].update(name=""), "job"),
        (lambda p: p.update(inputs=[{"namespace": "s3://raw"}]), "inputs"),
        (lambda p: p.update(outputs="s3://raw/events"), "outputs"),
        (lambda p: p.pop("producer"), "producer"),
        (
            lambda p: p.update(
                inputs=[{"namespace": "s3://a", "name": "b", "facets": {"symlinks": {"identifiers": "x"}}}]
            ),
            "inputs",
        ),
        # Numbers where the spec has strings were read as their text (runId 5 as UUID(int=5)).
        (lambda p: p["run"].update(runId=5), "run"),
        (lambda p: p["job"].update(name=0), "job"),
        (lambda p: p.update(inputs=[{"namespace": 0, "name": "events"}]), "inputs"),
        (lambda p: p.update(producer=1.5), "producer"),
        (lambda p: p.update(schemaURL=0), "schemaURL"),
    ],
)
def test_malformed_event_gets_400_naming_the_field_and_stores_nothing(token, change, field):
    payload = valid_payload()
    change(payload)
    response = post(payload, token=token)
    assert response.status_code == 400
    assert field in response.json()
    assert not OpenLineageEvent.objects.exists()
    assert not LineageNode.objects.exists()


@pytest.mark.django_db
def test_nested_errors_say_which_part_is_wrong(token):
    payload = valid_payload()
    payload["run"]["runId"] = "nope"
    assert post(payload, token=token).json() == {"run": {"runId": ["Must be a valid UUID."]}}


@pytest.mark.django_db
def test_a_body_that_is_not_json_gets_400(token):
    response = APIClient().post(
        "/api/v1/lineage", data="{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400
    assert not OpenLineageEvent.objects.exists()


@pytest.mark.django_db
def test_a_read_only_token_cannot_post_lineage(owner):
    response = post(valid_payload(), token=api_token_issue(owner, scope="read"))
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not OpenLineageEvent.objects.exists()


@pytest.mark.django_db
def test_only_the_bearer_keyword_carries_a_token(token):
    # DRF's `Token <key>` form was for the old single DRF token; personal tokens are Bearer only.
    assert post(valid_payload(), token=token, keyword="Token").status_code == 401


@pytest.mark.django_db
def test_no_token_gets_401_with_a_bearer_challenge(org):
    response = post(valid_payload())
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_a_session_alone_does_not_post_lineage(owner):
    client = APIClient()
    client.force_login(owner)
    assert client.post("/api/v1/lineage", valid_payload(), format="json").status_code == 401


@pytest.mark.django_db
def test_second_post_of_the_same_event_answers_200_with_the_stored_event(token):
    payload = valid_payload()
    first = post(payload, token=token)
    second = post(copy.deepcopy(payload), token=token)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


@pytest.mark.django_db
def test_datasets_of_groups_the_submitter_cannot_see_stay_unmatched(org, groups, token):
    payload = valid_payload(outputs=[{"namespace": "glue://", "name": "lab.secret"}], inputs=[])
    body = post(payload, token=token).json()
    assert body["matched"] == []
    assert body["unmatched"] == [{"dataset": "glue://::lab.secret", "role": "output"}]
    assert not LineageEdge.objects.filter(target__feature_group=groups["hidden"]).exists()


@pytest.mark.django_db
def test_ambiguous_warehouse_name_is_not_guessed(org, governance):
    FeatureGroupFactory(account=org.central, glue_database="shared", glue_table="orders")
    FeatureGroupFactory(account=org.team, glue_database="shared", glue_table="orders")
    key = api_token_issue(governance)
    body = post(valid_payload(inputs=[{"namespace": "hive://x", "name": "shared.orders"}]), token=key).json()
    assert body["matched"] == []


@pytest.mark.django_db
def test_events_api_shows_users_only_their_own_events(token, outsider, owner):
    post(valid_payload(), token=token)
    api = APIClient()
    api.force_authenticate(outsider)
    assert api.get("/api/v1/lineage/events/").json()["results"] == []
    api.force_authenticate(owner)
    assert len(api.get("/api/v1/lineage/events/").json()["results"]) == 1


@pytest.mark.django_db
def test_matched_group_lineage_appears_in_the_group_graph(org, groups, token, data_scientist):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    post(valid_payload(outputs=[{"namespace": "sagemaker", "name": groups["arn"].arn}]), token=token)
    api = APIClient()
    api.force_authenticate(data_scientist)
    data = api.get(f"/api/v1/feature-groups/{groups['arn'].uuid}/lineage/").json()
    keys = {n["key"] for n in data["nodes"]}
    assert {groups["arn"].arn, "s3://raw/events"} < keys
    (job,) = (k for k in keys if k.startswith("openlineage-job:"))
    assert job.endswith(":spark::daily_features")
    assert {tuple(e["origins"]) for e in data["edges"]} == {("openlineage",)}


# --- what real clients send: gzip, a trailing slash, OpenLineage 2 static events, split ARNs ---------


def client_with(url: str, key: str, **config) -> OpenLineageClient:
    return OpenLineageClient(
        transport=HttpTransport(HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": key}), **config))
    )


@pytest.mark.django_db(transaction=True)
def test_client_with_gzip_compression_is_accepted(live_server, token, groups):
    from openlineage.client.transport.http import HttpCompression

    client = client_with(live_server.url, token, compression=HttpCompression.GZIP)
    client.emit(run_event(outputs=[OutputDataset(namespace="sagemaker", name=groups["arn"].arn)]))
    stored = OpenLineageEvent.objects.get()
    assert stored.matched[0]["feature_group"] == groups["arn"].arn


@pytest.mark.django_db(transaction=True)
def test_client_with_an_endpoint_ending_in_a_slash_is_accepted(live_server, token, groups):
    client = client_with(live_server.url, token, endpoint="api/v1/lineage/")
    client.emit(run_event(inputs=[InputDataset(namespace="s3://raw", name="x")]))
    assert OpenLineageEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_client_split_arn_namespace_and_name_matches_the_group(live_server, token, groups):
    group = groups["arn"]
    dataset = OutputDataset(namespace="arn:aws:sagemaker:eu-west-1:111111111111", name=f"feature-group/{group.name}")
    ol_client(live_server.url, token).emit(run_event(outputs=[dataset]))
    (match,) = OpenLineageEvent.objects.get().matched
    assert match == {
        "dataset": f"arn:aws:sagemaker:eu-west-1:111111111111::feature-group/{group.name}",
        "role": "output",
        "feature_group": group.arn,
        "matched_by": "arn",
    }


@pytest.mark.django_db(transaction=True)
def test_client_job_event_records_static_lineage(live_server, token, groups, owner):
    from openlineage.client.event_v2 import Job, JobEvent

    event = JobEvent(
        eventTime=EVENT_TIME,
        producer=PRODUCER,
        job=Job(namespace="dbt://warehouse", name="models.customer_profile"),
        inputs=[InputDataset(namespace="s3://raw-events", name="clickstream")],
        outputs=[OutputDataset(namespace="sagemaker", name=groups["arn"].arn)],
    )
    client = ol_client(live_server.url, token)
    client.emit(event)
    client.emit(event)  # a retry changes nothing

    stored = OpenLineageEvent.objects.get()
    assert stored.kind == "job" and stored.run_id == "" and stored.job_name == "models.customer_profile"
    job = LineageNode.objects.get(kind="job")
    assert LineageEdge.objects.filter(source__key="s3://raw-events/clickstream", target=job).exists()
    assert LineageEdge.objects.filter(source=job, target__feature_group=groups["arn"]).exists()
    api = APIClient()
    api.force_authenticate(owner)
    keys = {n["key"] for n in api.get(f"/api/v1/feature-groups/{groups['arn'].uuid}/lineage/").json()["nodes"]}
    assert "s3://raw-events/clickstream" in keys


@pytest.mark.django_db(transaction=True)
def test_client_dataset_event_updates_the_dataset_node(live_server, token, groups, owner):
    from openlineage.client.event_v2 import DatasetEvent, StaticDataset
    from openlineage.client.facet_v2 import documentation_dataset, schema_dataset

    def dataset_event(time: str, facets: dict) -> DatasetEvent:
        return DatasetEvent(
            eventTime=time,
            producer=PRODUCER,
            dataset=StaticDataset(namespace="sagemaker", name=groups["arn"].arn, facets=facets),
        )

    client = ol_client(live_server.url, token)
    client.emit(
        dataset_event(
            EVENT_TIME,
            {
                "documentation": documentation_dataset.DocumentationDatasetFacet(description="Customer profile"),
                "schema": schema_dataset.SchemaDatasetFacet(
                    fields=[schema_dataset.SchemaDatasetFacetFields(name="customer_id", type="string")]
                ),
            },
        )
    )
    node = LineageNode.objects.get(feature_group=groups["arn"])
    facets = node.properties["openlineage_facets"]
    assert facets["documentation"]["description"] == "Customer profile"
    assert [(f["name"], f["type"]) for f in facets["schema"]["fields"]] == [("customer_id", "string")]

    # A later event replaces one facet; the other is kept.
    later = "2025-06-02T12:00:00.000000+00:00"
    client.emit(
        dataset_event(later, {"documentation": documentation_dataset.DocumentationDatasetFacet(description="v2")})
    )
    node.refresh_from_db()
    assert node.properties["openlineage_facets"]["documentation"]["description"] == "v2"
    assert "schema" in node.properties["openlineage_facets"]
    assert [e.kind for e in OpenLineageEvent.objects.order_by("received_at")] == ["dataset", "dataset"]
    api = APIClient()
    api.force_authenticate(owner)
    nodes = api.get(f"/api/v1/feature-groups/{groups['arn'].uuid}/lineage/").json()["nodes"]
    assert nodes[0]["properties"]["openlineage_facets"]["documentation"]["description"] == "v2"


@pytest.mark.django_db
def test_dataset_event_about_another_accounts_group_is_rejected(org, groups, data_scientist):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    key = api_token_issue(data_scientist)
    payload = {
        "eventTime": EVENT_TIME,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "sagemaker",
            "name": groups["arn"].arn,
            "facets": {"documentation": {"description": "x"}},
        },
    }
    body = post(payload, token=key).json()
    assert body["kind"] == "dataset" and body["rejected"][0]["role"] == "dataset"
    node = LineageNode.objects.filter(feature_group=groups["arn"]).first()
    assert node is None or "openlineage_facets" not in node.properties


@pytest.mark.django_db
def test_a_malformed_job_event_names_the_field(token):
    payload = {
        "eventTime": EVENT_TIME,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "x"},
    }
    response = post(payload, token=token)
    assert response.status_code == 400
    assert response.json() == {"job": {"name": ["This field is required."]}}

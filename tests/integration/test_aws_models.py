"""Every AWS call Pantry makes, run by Pantry's own gateway code against the sandbox, checked
against botocore's service models: the request validates against the operation's input shape
(botocore's ParamValidator, plus the `max` and `enum` limits it leaves to the service), and the
response carries every member the output shape marks required, at every depth, and (JSON
protocols) no member the model does not have.

The table `PANTRY_CALLS` lists the calls. A gateway that adds an operation adds a row: the
service, the operation, and a function that makes the call through the gateway, given `world`
(an owner account in the sandbox with a feature group and a little lineage, and Pantry's session
into it).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from catalog.gateways.featurestore import FeatureStoreGateway
from catalog.gateways.lineage import LineageGateway
from portal import aws
from sandbox import seed
from tests.aws_fixtures import sandbox_client, sandbox_feature_group

ACCOUNT = "111111111111"
REGION = "eu-west-1"


@dataclass
class World:
    url: str
    session: aws.AccountSession
    group_arn: str
    context_arn: str
    artifact_arn: str
    job_arn: str

    def featurestore(self) -> FeatureStoreGateway:
        return FeatureStoreGateway(self.session)

    def lineage(self) -> LineageGateway:
        return LineageGateway(self.session)


@dataclass(frozen=True)
class PantryCall:
    service: str
    operation: str
    call: Callable[[World], Any]


PANTRY_CALLS = [
    PantryCall("sts", "AssumeRole", lambda w: aws.account_session(_role(w, "other"), REGION)),
    PantryCall("sagemaker", "Search", lambda w: list(w.featurestore().feature_group_pages())),
    PantryCall(
        "sagemaker",
        "Search",
        lambda w: list(w.featurestore().feature_metadata_pages(modified_since=datetime.now(UTC) - timedelta(hours=1))),
    ),
    PantryCall("sagemaker", "DescribeFeatureGroup", lambda w: w.featurestore().describe_feature_group(w.group_arn)),
    PantryCall("sagemaker", "ListTags", lambda w: w.featurestore().list_tags(w.group_arn)),
    PantryCall(
        "sagemaker",
        "UpdateFeatureMetadata",
        lambda w: w.featurestore().update_feature_metadata(
            group=w.group_arn,
            feature="f_0000",
            description="Age in years",
            parameter_additions={"unit": "years"},
            parameter_removals=["legacy"],
        ),
    ),
    PantryCall("sagemaker", "ListContexts", lambda w: list(w.lineage().feature_group_contexts())),
    PantryCall("sagemaker", "QueryLineage", lambda w: w.lineage().query_lineage(start_arn=w.context_arn)),
    PantryCall(
        "sagemaker",
        "ListAssociations",
        lambda w: list(w.lineage().list_associations(source_arn=w.job_arn, association_type="ContributedTo")),
    ),
    PantryCall("sagemaker", "DescribeArtifact", lambda w: w.lineage().describe_artifact(w.artifact_arn)),
    PantryCall("sagemaker", "DescribeContext", lambda w: w.lineage().describe_context(w.context_arn)),
]


def _role(world: World, external_id_suffix: str = "") -> aws.AccountRole:
    # A second role of the same account, so AssumeRole really happens (sessions are cached per role).
    role_arn = world.session.role.role_arn
    if external_id_suffix:
        external_id = f"pantry-models-{external_id_suffix}"
        iam = seed.admin_client(world.url, "iam", ACCOUNT)
        name = f"PantryModels{external_id_suffix.title()}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=seed.trust_policy(external_id))
        return aws.AccountRole(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/{name}", external_id)
    return aws.AccountRole(ACCOUNT, role_arn, world.session.role.external_id)


# ---------------------------------------------------------------------------
# Recording every call a client makes: parameters, raw response, parsed response
# ---------------------------------------------------------------------------


@dataclass
class Recorded:
    service: str
    operation: str
    params: dict
    status: int
    raw: bytes
    parsed: dict
    model: Any


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name

        def before(params: dict, context: dict, **_: Any) -> None:
            context["recorded_params"] = copy.deepcopy(params)

        def after(http_response: Any, parsed: dict, model: Any, context: dict, **_: Any) -> None:
            with self._lock:
                self.calls.append(
                    Recorded(
                        service=service,
                        operation=model.name,
                        params=context.get("recorded_params", {}),
                        status=http_response.status_code,
                        raw=http_response.content,
                        parsed=parsed,
                        model=model,
                    )
                )

        client.meta.events.register("before-parameter-build.*.*", before)
        client.meta.events.register("after-call.*.*", after)


@pytest.fixture
def recorder(monkeypatch):
    recorder = Recorder()
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        recorder.attach(client)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    return recorder


@pytest.fixture
def world(aws_sandbox, recorder) -> World:
    url = aws_sandbox.url
    role_arn = seed.create_reader_role(url, ACCOUNT, "pantry-models")
    seed.ensure_bucket(url, ACCOUNT, REGION, seed.offline_bucket(ACCOUNT, REGION))
    group_arn = sandbox_feature_group(url, ACCOUNT, "customer_profile", features=4, tags={"team": "crm"})
    sm = sandbox_client(url, ACCOUNT)
    sm.update_feature_metadata(
        FeatureGroupName="customer_profile",
        FeatureName="f_0000",
        Description="Age",
        ParameterAdditions=[{"Key": "legacy", "Value": "1"}],
    )
    (context,) = sm.list_contexts(SourceUri=group_arn, ContextType="FeatureGroup")["ContextSummaries"]
    artifact = sm.create_artifact(
        ArtifactName="raw", Source={"SourceUri": "s3://raw/customers/"}, ArtifactType="DataSet"
    )["ArtifactArn"]
    job = sm.create_action(
        ActionName="ingest",
        Source={"SourceUri": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/ingest"},
        ActionType="ProcessingJob",
    )["ActionArn"]
    sm.add_association(SourceArn=artifact, DestinationArn=job, AssociationType="ContributedTo")
    sm.add_association(SourceArn=job, DestinationArn=context["ContextArn"], AssociationType="Produced")
    session = aws.account_session(aws.AccountRole(ACCOUNT, role_arn, "pantry-models"), REGION)
    recorder.calls.clear()  # only Pantry's own calls from here on
    return World(url, session, group_arn, context["ContextArn"], artifact, job)


# ---------------------------------------------------------------------------
# Checks against the model
# ---------------------------------------------------------------------------


def _limits(shape: Any, value: Any, path: str) -> list[str]:
    """The `max` and `enum` constraints botocore's ParamValidator leaves to the service."""
    problems = []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problems += _limits(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} members, model max {meta['max']}")
        for i, item in enumerate(value):
            problems += _limits(shape.member, item, f"{path}[{i}]")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value} not in {shape.enum}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: length {len(value)}, model max {meta['max']}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value}, model max {meta['max']}")
    return problems


def _missing_required(shape: Any, value: Any, path: str) -> list[str]:
    problems = []
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected a structure"]
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(f"{path}.{name} (required) is missing")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                problems += _missing_required(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            problems += _missing_required(shape.member, item, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += _missing_required(shape.value, item, f"{path}[{key}]")
    return problems


def _unknown_members(shape: Any, value: Any, path: str) -> list[str]:
    """Members in a JSON response that the model does not have (the sandbox invented them)."""
    problems = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                problems.append(f"{path}.{name} is not in the model")
            else:
                problems += _unknown_members(member, item, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            problems += _unknown_members(shape.member, item, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += _unknown_members(shape.value, item, f"{path}[{key}]")
    return problems


def model_problems(call: Recorded) -> list[str]:
    problems = []
    name = f"{call.service}:{call.operation}"
    if call.model.input_shape is not None:
        report = ParamValidator().validate(call.params, call.model.input_shape)
        if report.has_errors():
            problems.append(f"{name} request: {report.generate_report()}")
        problems += [f"{name} request: {p}" for p in _limits(call.model.input_shape, call.params, "")]
    if call.status >= 300:
        return [*problems, f"{name} answered HTTP {call.status}: {call.raw[:300]!r}"]
    if call.model.output_shape is not None:
        parsed = {k: v for k, v in call.parsed.items() if k != "ResponseMetadata"}
        problems += [f"{name} response: {p}" for p in _missing_required(call.model.output_shape, parsed, "")]
        if call.model.metadata["protocol"] in ("json", "rest-json") and call.raw.strip():
            raw = json.loads(call.raw)
            problems += [f"{name} response: {p}" for p in _unknown_members(call.model.output_shape, raw, "")]
    return problems


@pytest.mark.parametrize("pantry_call", PANTRY_CALLS, ids=lambda c: f"{c.service}:{c.operation}")
def test_pantrys_calls_match_botocores_models_in_request_and_response(world, recorder, pantry_call):
    pantry_call.call(world)

    made = [c for c in recorder.calls if (c.service, c.operation) == (pantry_call.service, pantry_call.operation)]
    assert made, f"Pantry made no {pantry_call.operation} call"
    problems = [p for call in recorder.calls for p in model_problems(call)]
    assert problems == []


def test_the_model_checks_catch_a_missing_required_member_and_an_invented_one():
    model = botocore.session.get_session().get_service_model("sagemaker").operation_model("DescribeFeatureGroup")
    response = {"FeatureGroupArn": "arn", "FeatureGroupName": "g", "Invented": 1}

    assert ".RecordIdentifierFeatureName (required) is missing" in _missing_required(model.output_shape, response, "")
    assert _unknown_members(model.output_shape, response, "") == [".Invented is not in the model"]
    query = botocore.session.get_session().get_service_model("sagemaker").operation_model("QueryLineage")
    assert _limits(query.input_shape, {"StartArns": ["a", "b"], "MaxDepth": 11}, "") == [
        ".StartArns: 2 members, model max 1",
        ".MaxDepth: 11, model max 10",
    ]

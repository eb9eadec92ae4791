"""The IAM policies in deploy/aws/ grant exactly what Pantry's code calls, and the CloudFormation
template carries the same documents.

The AWS actions are derived from the code, not listed by hand: an AST walk over every gateway
module (the only modules allowed to talk to boto3) collects the operations each one calls —
`self._call("Search")`, `self._pages("ListTags")`, `sts.assume_role(...)`,
`client.get_paginator("list_objects_v2")` — and botocore's service model turns each into its
IAM action (`sagemaker:Search`; S3's ListObjectsV2 is `s3:ListBucket`). The test fails when an
action is called but no policy grants it, or a policy grants an action no code calls (except the
documented ones AWS itself needs on Pantry's behalf).

The sharing (RAM) and usage (S3) gateways may not exist yet on a branch: until they do, their
policies are compared with the actions planned for them, and derived from the code once they land.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import botocore.session
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
AWS_DIR = ROOT / "deploy" / "aws"
POLICIES = AWS_DIR / "policies"
TEMPLATE = AWS_DIR / "pantry-role.yaml"
APPS = ("portal", "catalog", "sharing", "usage", "identity")


def gateway_modules(app: str) -> list[Path]:
    """An app's gateway modules: `<app>/aws.py`, `<app>/gateways.py` or `<app>/gateways/*.py`."""
    base = ROOT / app
    found = [base / "aws.py", base / "gateways.py", *sorted((base / "gateways").glob("*.py"))]
    return [p for p in found if p.exists() and p.name != "__init__.py"]


# Which policy files cover which app's calls. portal/aws.py calls STS with Pantry's own identity
# (AssumeRole into each account), so its policy is the one attached to Pantry itself.
POLICY_GROUPS = {
    "portal": ("pantry-principal.json",),
    "catalog": ("pantry-read.json", "pantry-metadata-write.json"),
    "sharing": ("pantry-share.json",),
    "usage": ("pantry-audit.json", "pantry-audit-kms.json"),
}

# Granted although no Pantry code calls them, and why (docs/aws-setup.md says the same).
NEEDED_WITHOUT_A_CALL = {
    # RAM sets and removes the feature group's (or catalog's) resource policy on the sharer's
    # behalf, with the sharer's permissions; AWS's own AmazonDataZoneSageMakerManageAccessRolePolicy
    # grants the same three for the same reason.
    "sagemaker:PutResourcePolicy": "RAM attaches the share's resource policy to the feature group",
    "sagemaker:GetResourcePolicy": "RAM reads the feature group's resource policy when sharing",
    "sagemaker:DeleteResourcePolicy": "RAM removes the resource policy when a share is withdrawn",
    # S3 asks KMS to decrypt SSE-KMS log files with the caller's permissions.
    "kms:Decrypt": "S3 decrypts SSE-KMS trail log files with the reader's permission",
}

# What sharing/ and usage/ will call, compared with their policies until their gateways land.
PLANNED = {
    "sharing": {
        "ram:CreateResourceShare",
        "ram:AssociateResourceShare",
        "ram:DisassociateResourceShare",
        "ram:AssociateResourceSharePermission",
        "ram:GetResourceShares",
        "ram:GetResourceShareAssociations",
        "ram:ListResources",
        "ram:GetResourceShareInvitations",
        "ram:AcceptResourceShareInvitation",
        "ram:RejectResourceShareInvitation",
        "ram:ListPermissions",
        # Not in the list, but the sharing branch's reconcile calls it (sharing/aws.py).
        "ram:ListResourceSharePermissions",
    },
    "usage": {"s3:ListBucket", "s3:GetObject"},
}

# Operations whose IAM action has another name (Service Authorization Reference, Amazon S3:
# "ListObjectsV2 ... s3:ListBucket"; HEAD requests need the permission of the GET).
IAM_ACTION_OF = {
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
}
# boto3's S3 transfer helpers, injected into the client, that GET objects.
S3_HELPERS = {"download_file": "GetObject", "download_fileobj": "GetObject"}
# Client methods that are not AWS operations.
CLIENT_HELPERS = {"get_paginator", "can_paginate", "get_waiter", "close", "generate_presigned_url"}


# ---------------------------------------------------------------------------
# From code to actions
# ---------------------------------------------------------------------------


@cache
def service_model(service: str):
    return botocore.session.get_session().get_service_model(service)


@cache
def operations_by_method(service: str) -> dict[str, str]:
    model = service_model(service)
    return {botocore.xform_name(op): op for op in model.operation_names}


def iam_action(service: str, operation: str) -> str:
    model = service_model(service)
    assert operation in model.operation_names, f"{service} has no operation {operation}"
    prefix = model.signing_name  # sagemaker-featurestore-runtime signs (and authorises) as sagemaker
    return IAM_ACTION_OF.get((prefix, operation), f"{prefix}:{operation}")


class _CallFinder(ast.NodeVisitor):
    """AWS operations one module calls, as (service, operation, line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls: list[tuple[str, str, int]] = []
        self.problems: list[str] = []
        self._class_service: dict[str, str] = {}
        self._service: str | None = None
        self._clients: dict[str, str] = {}  # variable name → service

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{node.lineno}"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        service = None
        for statement in node.body:
            target = None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                target, value = statement.target, statement.value
            if isinstance(target, ast.Name) and target.id == "service":
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    service = value.value
        for base in node.bases:
            if service is None and isinstance(base, ast.Name):
                service = self._class_service.get(base.id)
        if service:
            self._class_service[node.name] = service
        outer, self._service = self._service, service
        self.generic_visit(node)
        self._service = outer

    def visit_Assign(self, node: ast.Assign) -> None:
        # `sts = _platform_client("sts")`, `s3 = session.client("s3")`, `boto3.client("s3")`
        service = self._client_service(node.value)
        if service:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._clients[target.id] = service
                elif isinstance(target, ast.Attribute):
                    self._clients[ast.unparse(target)] = service
        self.generic_visit(node)

    @staticmethod
    def _client_service(value: ast.AST) -> str | None:
        if not isinstance(value, ast.Call) or not value.args:
            return None
        name = value.func.attr if isinstance(value.func, ast.Attribute) else getattr(value.func, "id", "")
        first = value.args[0]
        if name in ("client", "_platform_client") and isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
        return None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = ast.unparse(func.value)
            if owner == "self" and func.attr in ("_call", "_pages"):
                self._gateway_call(node)
            elif owner in self._clients or (owner == "self.client" and self._service):
                service = self._clients.get(owner) or self._service
                self._client_call(node, service, func.attr)
        self.generic_visit(node)

    def _gateway_call(self, node: ast.Call) -> None:
        first = node.args[0] if node.args else None
        if not self._service:
            self.problems.append(f"{self.where(node)}: {ast.unparse(node)} outside a class with `service`")
        elif not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            self.problems.append(f"{self.where(node)}: the operation of {ast.unparse(node)} is not a literal")
        else:
            self.calls.append((self._service, first.value, node.lineno))

    def _client_call(self, node: ast.Call, service: str, method: str) -> None:
        if method == "get_paginator":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                method = first.value
            else:
                self.problems.append(f"{self.where(node)}: the paginator of {ast.unparse(node)} is not a literal")
                return
        elif method in CLIENT_HELPERS:
            return
        if service == "s3" and method in S3_HELPERS:
            self.calls.append((service, S3_HELPERS[method], node.lineno))
            return
        operation = operations_by_method(service).get(method)
        if operation is None:
            self.problems.append(f"{self.where(node)}: {service} client has no operation {method}()")
        else:
            self.calls.append((service, operation, node.lineno))


def actions_called(app: str) -> dict[str, list[str]]:
    """IAM action → where the app's gateway modules call it."""
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in gateway_modules(app):
        finder = _CallFinder(path)
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        problems += finder.problems
        for service, operation, line in finder.calls:
            found.setdefault(iam_action(service, operation), []).append(f"{path.relative_to(ROOT)}:{line}")
    assert problems == [], "calls the test cannot read statically"
    return found


# ---------------------------------------------------------------------------
# Policies and the template
# ---------------------------------------------------------------------------


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy(name: str) -> dict:
    return json.loads((POLICIES / name).read_text())


def actions_granted(document: dict) -> set[str]:
    return {a for s in document["Statement"] if s["Effect"] == "Allow" for a in _as_list(s["Action"])}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsic functions (`!Ref`, `!Sub`, ...)."""


def _intrinsic(tag: str):
    key = "Ref" if tag == "Ref" else ("Condition" if tag == "Condition" else f"Fn::{tag}")

    def construct(loader: yaml.Loader, node: yaml.Node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in (
    "Ref",
    "Sub",
    "GetAtt",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Condition",
    "Join",
    "Select",
    "Split",
    "FindInMap",
    "Base64",
    "ImportValue",
    "GetAZs",
    "Cidr",
):
    _CfnLoader.add_constructor(f"!{_tag}", _intrinsic(_tag))


@cache
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def as_placeholders(node, parameters: set[str]):
    """The template's document with `!Ref X` and `!Sub "...${X}..."` left as `${X}` placeholders,
    which is how the JSON files write the values CloudFormation fills in."""
    if isinstance(node, dict) and set(node) == {"Ref"}:
        assert node["Ref"] in parameters, f"Ref to {node['Ref']} in a policy"
        return "${" + node["Ref"] + "}"
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"]
        assert isinstance(text, str), "Fn::Sub with a variable map"
        for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
            assert name in parameters, f"Fn::Sub names {name}, not a parameter or pseudo parameter"
        return text.replace("${!", "${")
    if isinstance(node, dict):
        assert not any(k.startswith("Fn::") for k in node), f"unexpected intrinsic in a policy: {node}"
        return {k: as_placeholders(v, parameters) for k, v in node.items()}
    if isinstance(node, list):
        return [as_placeholders(v, parameters) for v in node]
    return node


def template_parameters() -> set[str]:
    return set(template()["Parameters"]) | {"AWS::AccountId", "AWS::Partition", "AWS::Region"}


def template_policies() -> dict[str, dict]:
    """PolicyName → (placeholder) document of every AWS::IAM::Policy (the role's inline policies) in the template."""
    found = {}
    for resource in template()["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            props = resource["Properties"]
            found[props["PolicyName"]] = as_placeholders(props["PolicyDocument"], template_parameters())
    return found


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("app", sorted(POLICY_GROUPS))
def test_policies_grant_exactly_the_actions_the_code_calls(app):
    granted = set().union(*(actions_granted(policy(name)) for name in POLICY_GROUPS[app]))
    if gateway_modules(app):
        called = actions_called(app)
        assert called, f"no AWS calls found in {app}'s gateway modules"
        expected = set(called)
    else:
        expected = PLANNED[app]
    not_granted = sorted(expected - granted)
    never_called = sorted(granted - expected - set(NEEDED_WITHOUT_A_CALL))
    assert not_granted == [], f"called by {app} but granted by no policy in {POLICY_GROUPS[app]}"
    assert never_called == [], f"granted to {app} but never called (add a call or a reason)"


def test_the_catalog_calls_found_are_the_ones_the_gateways_make():
    # A guard on the derivation itself: the walk finds the calls known to exist.
    called = actions_called("catalog")
    for action in (
        "sagemaker:Search",
        "sagemaker:DescribeFeatureGroup",
        "sagemaker:ListTags",
        "sagemaker:UpdateFeatureMetadata",
        "sagemaker:QueryLineage",
    ):
        assert action in called
    assert set(actions_called("portal")) == {"sts:AssumeRole"}


def test_the_walk_reads_every_way_a_gateway_calls_aws():
    source = """
from portal.aws import Gateway

class RamGateway(Gateway):
    service = "ram"

    def shares(self):
        yield from self._pages("GetResourceShares", resourceOwner="SELF")
        self._call("AcceptResourceShareInvitation", resourceShareInvitationArn="arn")

class Child(RamGateway):
    def more(self):
        return self.client.list_permissions()

def read(session):
    s3 = session.client("s3")
    s3.get_paginator("list_objects_v2").paginate(Bucket="b")
    s3.download_fileobj("b", "k", None)
    s3.get_object(Bucket="b", Key="k")
"""
    finder = _CallFinder(ROOT / "synthetic.py")
    finder.visit(ast.parse(source))
    assert finder.problems == []
    assert {iam_action(service, operation) for service, operation, _ in finder.calls} == {
        "ram:GetResourceShares",
        "ram:AcceptResourceShareInvitation",
        "ram:ListPermissions",
        "s3:ListBucket",
        "s3:GetObject",
    }


def test_the_walk_refuses_calls_it_cannot_read():
    source = """
class G(Gateway):
    service = "ram"

    def dynamic(self, op):
        return self._call(op)

    def typo(self):
        return self.client.get_resource_sharez()
"""
    finder = _CallFinder(ROOT / "synthetic.py")
    finder.visit(ast.parse(source))
    assert len(finder.problems) == 2


def test_read_policy_only_reads_and_writes_sit_in_their_own_policy():
    read = actions_granted(policy("pantry-read.json"))
    assert all(re.match(r"sagemaker:(Describe|List|Search|Query|Get)", a) for a in read), read
    assert actions_granted(policy("pantry-metadata-write.json")) == {"sagemaker:UpdateFeatureMetadata"}


def test_no_module_outside_the_gateways_talks_to_aws():
    allowed = {p for app in APPS for p in gateway_modules(app)}
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if path in allowed or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n.split(".")[0] in ("boto3", "botocore") for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "boto3 outside a gateway module: its calls would escape the policy check"


@pytest.mark.parametrize("name", sorted(p.name for p in POLICIES.glob("*.json")))
def test_every_granted_action_is_a_real_aws_action(name):
    session = botocore.session.get_session()
    prefixes = {"sagemaker": "sagemaker", "ram": "ram", "s3": "s3", "kms": "kms", "sts": "sts"}
    for action in actions_granted(policy(name)):
        prefix, operation = action.split(":", 1)
        if action in NEEDED_WITHOUT_A_CALL and prefix == "sagemaker":
            continue  # permission-only actions: no API operation of that name
        if action in IAM_ACTION_OF.values():
            continue
        model = session.get_service_model(prefixes[prefix])
        assert operation in model.operation_names, action


@pytest.mark.parametrize("name", sorted(p.name for p in POLICIES.glob("*.json")))
def test_every_statement_is_scoped_or_says_why_not(name):
    # "*" only where the Service Authorization Reference lists no resource type for the action
    # (docs/aws-setup.md, "Every action and why"); everything else names this account's ARNs.
    star_allowed = {
        "sagemaker:Search",
        "sagemaker:ListContexts",
        "sagemaker:ListAssociations",
        "sagemaker:QueryLineage",
        "ram:CreateResourceShare",
        "ram:AssociateResourceShare",  # scoped by the ram:ResourceArn condition instead
        "ram:GetResourceShares",
        "ram:GetResourceShareAssociations",
        "ram:ListResources",
        "ram:ListPermissions",
        "ram:GetResourceShareInvitations",
    }
    for statement in policy(name)["Statement"]:
        if "*" in _as_list(statement["Resource"]):
            assert set(_as_list(statement["Action"])) <= star_allowed, statement["Sid"]
        assert statement.get("Sid"), "every statement says what it is for"


def test_template_carries_the_same_policies_as_the_json_files():
    in_template = template_policies()
    files = {p.stem: json.loads(p.read_text()) for p in POLICIES.glob("*.json") if p.stem != "pantry-principal"}
    assert sorted(in_template) == sorted(files)
    for name, document in files.items():
        assert in_template[name] == document, name


def test_template_trust_policy_is_the_trust_policy_file():
    role = template()["Resources"]["PantryRole"]
    trust = as_placeholders(role["Properties"]["AssumeRolePolicyDocument"], template_parameters())
    assert trust == json.loads((AWS_DIR / "trust-policy.json").read_text())
    (statement,) = trust["Statement"]
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "${ExternalId}"}}


def test_template_enables_each_capability_by_parameter():
    resources = template()["Resources"]
    conditions = template()["Conditions"]
    by_policy = {
        r["Properties"]["PolicyName"]: r.get("Condition") for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
    }
    assert by_policy == {
        "pantry-read": "ReadEnabled",
        "pantry-metadata-write": "MetadataWriteEnabled",
        "pantry-share": "ShareEnabled",
        "pantry-audit": "AuditEnabled",
        "pantry-audit-kms": "AuditKmsEnabled",
    }
    for name, parameter in (
        ("ReadEnabled", "EnableRead"),
        ("MetadataWriteEnabled", "EnableMetadataWrite"),
        ("ShareEnabled", "EnableShare"),
        ("AuditEnabled", "EnableAudit"),
    ):
        assert conditions[name] == {"Fn::Equals": [{"Ref": parameter}, "true"]}
        assert template()["Parameters"][parameter]["AllowedValues"] == ["true", "false"]
    for parameter in ("PantryPrincipalArn", "ExternalId", "TrailBucketName"):
        assert parameter in template()["Parameters"]
    assert template()["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["PantryRole", "Arn"]}


def test_cfn_lint_finds_nothing_in_the_template():
    from cfnlint.api import lint_file

    assert [str(match) for match in lint_file(TEMPLATE)] == []

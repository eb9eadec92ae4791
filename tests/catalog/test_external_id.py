"""Pantry generates each account's external id, shows it with the trust policy to the people who
create the account's role, and assumes the role with it; nobody else sees or changes it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import AwsAccount
from catalog.selectors.aws_setup import account_role_setup, trust_policy_document
from catalog.services.accounts import account_register
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PRINCIPAL = "arn:aws:iam::123456789012:role/pantry-app"
FORM = {
    "account_id": "555555555555",
    "name": "new-team",
    "kind": "owner",
    "team": "",
    "contact_email": "",
    "role_arn": "arn:aws:iam::555555555555:role/PantryAccess",
    "external_id": "",
    "regions": "eu-west-1",
    "sync_enabled": "",
    "sync_interval_minutes": "60",
}

SERVICE_FIELDS = {
    "account_id": "313131313131",
    "name": "risk-models",
    "kind": "owner",
    "role_arn": "arn:aws:iam::313131313131:role/PantryAccess",
    "regions": ["eu-west-1"],
    "sync_enabled": False,
}


@pytest.fixture(autouse=True)
def _principal(settings):
    settings.PANTRY_AWS_PRINCIPAL_ARN = PRINCIPAL
    settings.CELERY_TASK_ALWAYS_EAGER = False


def _pre(page: str, element_id: str) -> str:
    match = re.search(rf'<pre[^>]*id="{element_id}"[^>]*><code>(.*?)</code></pre>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1))


# --- generated at registration ------------------------------------------------------------------


def test_registering_without_an_external_id_gets_an_unguessable_one_kept_out_of_the_audit_log(client, operator):
    client.force_login(operator)
    assert client.post(reverse("catalog:account_create"), FORM).status_code == 302
    assert client.post(reverse("catalog:account_create"), {**FORM, "account_id": "666666666666", "name": "other", "role_arn": "arn:aws:iam::666666666666:role/PantryAccess"}).status_code == 302  # fmt: skip

    first, second = (AwsAccount.objects.get(account_id=a).external_id for a in ("555555555555", "666666666666"))
    assert first != second
    assert re.fullmatch(r"pantry-[A-Za-z0-9_-]{32}", first)  # 192 random bits
    for event in AuditEvent.objects.filter(action="account.registered"):
        assert first not in json.dumps([event.before, event.after, event.note])


def test_api_registration_without_an_external_id_generates_one(operator):
    api = APIClient()
    api.force_authenticate(operator)
    body = {**FORM, "regions": ["eu-west-1"], "sync_enabled": False}
    del body["external_id"]
    response = api.post("/api/v1/accounts/", body, format="json")

    assert response.status_code == 201, response.content
    assert "external_id" not in response.json()
    assert AwsAccount.objects.get(account_id="555555555555").external_id.startswith("pantry-")


def test_a_typed_external_id_is_kept_for_roles_that_already_name_one(operator):
    account = account_register(registered_by=operator, **{**SERVICE_FIELDS, "external_id": "given-id"})
    assert account.external_id == "given-id"


# --- shown to the people who create the role ------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "account"), [("operator", "central"), ("owner", "central"), ("consumer_admin", "consumer")]
)
def test_owners_admins_and_operators_see_the_external_id_and_the_trust_policy_to_paste(
    client, request, org, persona, account
):
    account = getattr(org, account)
    client.force_login(request.getfixturevalue(persona))
    page = client.get(account.get_absolute_url()).content.decode()

    assert account.external_id in page
    trust = json.loads(_pre(page, "trust-policy"))
    assert trust == trust_policy_document(principal_arn=PRINCIPAL, external_id=account.external_id)
    commands = _pre(page, "cloudformation-command") + _pre(page, "cli-commands")
    assert "deploy/aws/pantry-role.yaml" in commands and f"ExternalId={account.external_id}" in commands


@pytest.mark.parametrize(("persona", "account"), [("data_scientist", "consumer"), ("governance", "central")])
def test_members_and_governance_see_the_account_but_not_its_external_id(client, request, org, persona, account):
    account = getattr(org, account)
    client.force_login(request.getfixturevalue(persona))
    response = client.get(account.get_absolute_url())

    assert response.status_code == 200
    assert account.external_id not in response.content.decode()
    assert "Role setup" not in response.content.decode()


def test_outsiders_get_404_for_the_account_page(client, outsider, org):
    client.force_login(outsider)
    assert client.get(org.central.get_absolute_url()).status_code == 404


def test_the_page_trust_policy_is_the_repository_template_filled_in(org):
    template = (ROOT / "deploy" / "aws" / "trust-policy.json").read_text()
    filled = template.replace("${PantryPrincipalArn}", PRINCIPAL).replace("${ExternalId}", org.central.external_id)
    assert json.loads(filled) == trust_policy_document(principal_arn=PRINCIPAL, external_id=org.central.external_id)


def test_the_setup_names_the_policies_the_account_needs(org):
    org.central.metadata_write_allowed = True
    owner_setup = account_role_setup(account=org.central)
    consumer_setup = account_role_setup(account=org.consumer)

    assert owner_setup.policy_files == (
        "deploy/aws/policies/pantry-read.json",
        "deploy/aws/policies/pantry-metadata-write.json",
        "deploy/aws/policies/pantry-share.json",
    )
    assert consumer_setup.policy_files == ("deploy/aws/policies/pantry-share.json",)
    assert "EnableRead=false" in consumer_setup.cloudformation_command
    for path in owner_setup.policy_files:
        assert (ROOT / path).exists()


def test_without_a_configured_principal_the_page_says_so(client, operator, org, settings):
    settings.PANTRY_AWS_PRINCIPAL_ARN = ""
    client.force_login(operator)
    page = client.get(org.central.get_absolute_url()).content.decode()
    assert "PANTRY_AWS_PRINCIPAL_ARN" in page
    assert json.loads(_pre(page, "trust-policy"))["Statement"][0]["Principal"] == {"AWS": "PANTRY_PRINCIPAL_ARN"}


# --- changed only by operators, audited ----------------------------------------------------------


def _edit_form(account: AwsAccount, **changes) -> dict:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "kind": account.kind,
        "team": account.team,
        "contact_email": account.contact_email,
        "role_arn": account.role_arn,
        "external_id": "",
        "regions": ", ".join(account.regions),
        "sync_enabled": "on" if account.sync_enabled else "",
        "sync_interval_minutes": str(account.sync_interval_minutes),
        **changes,
    }


def test_operators_generate_a_new_external_id_and_the_change_is_audited_without_it(client, operator, org):
    before = org.central.external_id
    client.force_login(operator)
    response = client.post(
        reverse("catalog:account_edit", args=[org.central.uuid]), _edit_form(org.central, regenerate_external_id="on")
    )

    assert response.status_code == 302
    org.central.refresh_from_db()
    assert org.central.external_id != before and org.central.external_id.startswith("pantry-")
    event = AuditEvent.objects.get(action="account.updated")
    assert event.after == {"external_id": "changed"}
    assert org.central.external_id not in json.dumps([event.before, event.after]) and before not in json.dumps(
        [event.before, event.after]
    )


def test_asking_for_a_new_id_while_typing_one_is_a_form_error(client, operator, org):
    client.force_login(operator)
    response = client.post(
        reverse("catalog:account_edit", args=[org.central.uuid]),
        _edit_form(org.central, regenerate_external_id="on", external_id="typed-one"),
    )
    assert response.status_code == 200
    assert "Either type an external id or ask for a new one" in response.content.decode()


@pytest.mark.parametrize("persona", ["owner", "data_scientist", "consumer_admin"])
def test_nobody_but_operators_changes_the_external_id(client, request, org, persona):
    account = org.consumer if persona in ("data_scientist", "consumer_admin") else org.central
    before = account.external_id
    client.force_login(request.getfixturevalue(persona))
    response = client.post(
        reverse("catalog:account_edit", args=[account.uuid]), _edit_form(account, regenerate_external_id="on")
    )
    api = APIClient()
    api.force_authenticate(request.getfixturevalue(persona))
    api_response = api.patch(f"/api/v1/accounts/{account.uuid}/", {"external_id": "mine-now"}, format="json")

    assert response.status_code == 403 and api_response.status_code == 403
    account.refresh_from_db()
    assert account.external_id == before


# --- the sandbox's STS enforces it -----------------------------------------------------------------


def test_a_role_made_from_the_setup_documents_admits_pantry_only_with_the_external_id(aws_sandbox, operator, settings):
    from catalog.gateways.featurestore import FeatureStoreGateway
    from portal import aws
    from sandbox import PLATFORM_ACCOUNT_ID, seed

    settings.PANTRY_AWS_PRINCIPAL_ARN = f"arn:aws:iam::{PLATFORM_ACCOUNT_ID}:role/pantry-app"
    account = account_register(
        registered_by=operator, **{**SERVICE_FIELDS, "role_arn": "arn:aws:iam::313131313131:role/PantryAccess"}
    )
    setup = account_role_setup(account=account)
    iam = seed.admin_client(aws_sandbox.url, "iam", account.account_id)
    iam.create_role(RoleName=setup.role_name, AssumeRolePolicyDocument=setup.trust_policy)
    for path in setup.policy_files:
        document = (ROOT / path).read_text().replace("${AWS::Partition}", "aws")
        document = document.replace("${AWS::AccountId}", account.account_id)
        iam.put_role_policy(RoleName=setup.role_name, PolicyName=Path(path).stem, PolicyDocument=document)

    role = aws.AccountRole(account.account_id, account.role_arn, account.external_id)
    assert list(FeatureStoreGateway(aws.account_session(role, "eu-west-1")).feature_group_pages()) == [[]]

    aws.clear_session_cache()
    with pytest.raises(aws.AwsAccessDenied):
        aws.account_session(aws.AccountRole(account.account_id, account.role_arn, "pantry-guessed"), "eu-west-1")
    sts = seed.admin_client(aws_sandbox.url, "sts", PLATFORM_ACCOUNT_ID)
    with pytest.raises(Exception, match="AccessDenied"):
        sts.assume_role(RoleArn=account.role_arn, RoleSessionName="no-external-id")


def test_the_cloudformation_template_makes_the_role_pantry_assumes_with_the_external_id(
    aws_sandbox, operator, settings
):
    from catalog.gateways.featurestore import FeatureStoreGateway
    from portal import aws
    from sandbox import PLATFORM_ACCOUNT_ID, seed

    settings.PANTRY_AWS_PRINCIPAL_ARN = f"arn:aws:iam::{PLATFORM_ACCOUNT_ID}:root"
    account = account_register(registered_by=operator, **{**SERVICE_FIELDS, "metadata_write_allowed": True})
    setup = account_role_setup(account=account)
    cloudformation = seed.admin_client(aws_sandbox.url, "cloudformation", account.account_id)
    cloudformation.create_stack(
        StackName="pantry-access",
        TemplateBody=(ROOT / "deploy" / "aws" / "pantry-role.yaml").read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in setup.cloudformation_parameters.items()],
    )
    (stack,) = cloudformation.describe_stacks(StackName="pantry-access")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == account.role_arn

    iam = seed.admin_client(aws_sandbox.url, "iam", account.account_id)
    names = iam.list_role_policies(RoleName=setup.role_name)["PolicyNames"]
    assert sorted(names) == sorted(Path(p).stem for p in setup.policy_files)
    for name in names:
        expected = (ROOT / "deploy" / "aws" / "policies" / f"{name}.json").read_text()
        expected = expected.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", account.account_id)
        assert iam.get_role_policy(RoleName=setup.role_name, PolicyName=name)["PolicyDocument"] == json.loads(expected)

    role = aws.AccountRole(account.account_id, account.role_arn, account.external_id)
    assert list(FeatureStoreGateway(aws.account_session(role, "eu-west-1")).feature_group_pages()) == [[]]
    aws.clear_session_cache()
    with pytest.raises(aws.AwsAccessDenied):
        aws.account_session(aws.AccountRole(account.account_id, account.role_arn, "pantry-guessed"), "eu-west-1")


# --- the same through the API -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "account"), [("operator", "central"), ("owner", "central"), ("consumer_admin", "consumer")]
)
def test_the_api_gives_owners_admins_and_operators_the_role_setup(request, org, persona, account):
    account = getattr(org, account)
    api = APIClient()
    api.force_authenticate(request.getfixturevalue(persona))
    body = api.get(f"/api/v1/accounts/{account.uuid}/setup/").json()

    assert body["external_id"] == account.external_id
    assert body["trust_policy"] == trust_policy_document(principal_arn=PRINCIPAL, external_id=account.external_id)
    assert body["cloudformation_parameters"]["ExternalId"] == account.external_id
    assert body["principal_arn"] == PRINCIPAL


@pytest.mark.parametrize(("persona", "status"), [("governance", 403), ("data_scientist", 404), ("outsider", 404)])
def test_the_api_keeps_the_role_setup_from_everyone_else(request, org, persona, status):
    api = APIClient()
    api.force_authenticate(request.getfixturevalue(persona))
    response = api.get(f"/api/v1/accounts/{org.central.uuid}/setup/")

    assert response.status_code == status
    assert org.central.external_id not in response.content.decode()


def test_a_plain_member_who_sees_the_account_gets_403_not_the_role_setup(data_scientist, org):
    # dana is a member (not owner or admin) of the consumer account: she sees it, so 403, not 404.
    api = APIClient()
    api.force_authenticate(data_scientist)
    assert api.get(f"/api/v1/accounts/{org.consumer.uuid}/").status_code == 200
    response = api.get(f"/api/v1/accounts/{org.consumer.uuid}/setup/")

    assert response.status_code == 403
    assert org.consumer.external_id not in response.content.decode()

"""Account registration: one service behind the page, the admin and the API; the caller is
authorised before anything they sent is validated or looked up."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import AwsAccount, SyncRun
from catalog.services.accounts import account_register, account_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIELDS = {
    "account_id": "888888888888",
    "name": "risk-models",
    "kind": "owner",
    "team": "Risk",
    "contact_email": "risk@example.com",
    "role_arn": "arn:aws:iam::888888888888:role/PantryCatalogReader",
    "external_id": "pantry-risk-models",
    "regions": ["eu-west-1", "us-east-1"],
    "metadata_write_allowed": False,
    "sync_enabled": True,
    "sync_interval_minutes": 60,
}
NOT_OPERATORS = ["owner", "data_scientist", "consumer_admin", "governance", "outsider"]


def api_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# --- authorise before validating ----------------------------------------------------------------


@pytest.mark.parametrize("persona", NOT_OPERATORS)
def test_api_register_refuses_non_operators_before_looking_at_the_body(request, org, persona):
    api = api_for(request.getfixturevalue(persona))
    duplicate = api.post("/api/v1/accounts/", {**FIELDS, "account_id": org.central.account_id}, format="json")
    fresh = api.post("/api/v1/accounts/", FIELDS, format="json")
    garbage = api.post("/api/v1/accounts/", {"account_id": "x" * 5000}, format="json")
    # Whether the account exists, or the body makes sense, changes nothing in the answer.
    assert duplicate.status_code == fresh.status_code == garbage.status_code == 403
    assert duplicate.json() == fresh.json() == garbage.json()
    assert "exists" not in duplicate.content.decode()


def test_api_register_refuses_anonymous_before_looking_at_the_body(org):
    duplicate = api_for(None).post("/api/v1/accounts/", {"account_id": org.central.account_id}, format="json")
    fresh = api_for(None).post("/api/v1/accounts/", {"account_id": "888888888888"}, format="json")
    assert duplicate.status_code == fresh.status_code in (401, 403)
    assert duplicate.json() == fresh.json()


@pytest.mark.parametrize("persona", ["owner", "data_scientist"])
def test_api_edit_by_a_member_is_403_whatever_the_body(request, org, persona):
    user = request.getfixturevalue(persona)
    account = org.central if persona == "owner" else org.consumer
    api = api_for(user)
    taken = api.patch(f"/api/v1/accounts/{account.uuid}/", {"name": org.team.name}, format="json")
    fine = api.patch(f"/api/v1/accounts/{account.uuid}/", {"team": "New team"}, format="json")
    assert taken.status_code == fine.status_code == 403
    assert taken.json() == fine.json()
    account.refresh_from_db()
    assert account.team != "New team"


def test_api_edit_of_an_invisible_account_is_404_whatever_the_body(outsider, org):
    api = api_for(outsider)
    taken = api.patch(f"/api/v1/accounts/{org.central.uuid}/", {"name": org.team.name}, format="json")
    assert taken.status_code == 404


def test_page_register_refuses_non_operators_before_validating(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("catalog:account_create"), {"account_id": org.central.account_id})
    assert response.status_code == 403
    assert b"exists" not in response.content


# --- one service ----------------------------------------------------------------------------------


def test_service_registers_and_queues_a_first_sync_per_region(operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        account = account_register(registered_by=operator, trigger=SyncRun.Trigger.MANUAL, **FIELDS)
    assert account.pk and account.regions == ["eu-west-1", "us-east-1"]
    runs = SyncRun.objects.filter(account=account)
    assert sorted(runs.values_list("region", flat=True)) == ["eu-west-1", "us-east-1"]
    assert {r.requested_by for r in runs} == {operator}
    assert len(callbacks) == 2


def test_service_does_not_sync_a_consumer_only_account(operator):
    account = account_register(
        registered_by=operator, trigger=SyncRun.Trigger.MANUAL, **{**FIELDS, "kind": AwsAccount.Kind.CONSUMER}
    )
    assert not SyncRun.objects.filter(account=account).exists()


def test_service_refuses_a_duplicate_with_a_field_error_and_saves_nothing(operator, org):
    with pytest.raises(ValidationError) as excinfo:
        account_register(
            registered_by=operator,
            trigger=SyncRun.Trigger.MANUAL,
            **{**FIELDS, "account_id": org.central.account_id, "role_arn": org.central.role_arn},
        )
    assert "account_id" in excinfo.value.message_dict
    assert AwsAccount.objects.filter(account_id=org.central.account_id).count() == 1


def test_update_service_syncs_regions_that_were_added(operator, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        account_update(account=org.central, updated_by=operator, regions=["eu-west-1", "us-east-1"], team="Core")
    org.central.refresh_from_db()
    assert org.central.team == "Core"
    assert list(SyncRun.objects.filter(account=org.central).values_list("region", flat=True)) == ["us-east-1"]


def test_page_api_and_admin_all_queue_the_first_sync(client, operator):
    """The three ways in end in the same state: an account and its first sync runs."""
    form = {**FIELDS, "regions": "eu-west-1", "sync_enabled": "on", "metadata_write_allowed": ""}
    client.force_login(operator)
    page = client.post(
        reverse("catalog:account_create"),
        {**form, "account_id": "888888888881", "name": "a1", "role_arn": "arn:aws:iam::888888888881:role/R"},
    )
    assert page.status_code == 302

    api = api_for(operator).post(
        "/api/v1/accounts/",
        {
            **FIELDS,
            "regions": ["eu-west-1"],
            "account_id": "888888888882",
            "name": "a2",
            "role_arn": "arn:aws:iam::888888888882:role/R",
        },
        format="json",
    )
    assert api.status_code == 201, api.content

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    admin = client.post(
        reverse("admin:catalog_awsaccount_add"),
        {
            **form,
            "account_id": "888888888883",
            "name": "a3",
            "role_arn": "arn:aws:iam::888888888883:role/R",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert admin.status_code == 302

    for account_id in ("888888888881", "888888888882", "888888888883"):
        account = AwsAccount.objects.get(account_id=account_id)
        assert SyncRun.objects.filter(account=account, region="eu-west-1").count() == 1, account_id

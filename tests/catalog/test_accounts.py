"""Registering AWS accounts, their sync health, and triggering syncs: pages and API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import AwsAccount, Membership, SyncRun, SyncState
from tests.factories import AwsAccountFactory, MembershipFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

VALID = {
    "account_id": "888888888888",
    "name": "risk-models",
    "kind": "owner",
    "team": "Risk",
    "contact_email": "risk@example.com",
    "role_arn": "arn:aws:iam::888888888888:role/PantryCatalogReader",
    "external_id": "pantry-risk-models",
    "regions": "eu-west-1, us-east-1",
    "sync_interval_minutes": "60",
    "sync_enabled": "on",
}


def test_operator_registers_an_account_and_its_first_sync_is_queued(
    client, operator, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("catalog:account_create"), VALID)

    account = AwsAccount.objects.get(account_id="888888888888")
    assert response.status_code == 302 and response.url == account.get_absolute_url()
    assert account.regions == ["eu-west-1", "us-east-1"]
    assert sorted(SyncRun.objects.filter(account=account).values_list("region", flat=True)) == [
        "eu-west-1",
        "us-east-1",
    ]
    assert len(callbacks) == 2  # one task per region, enqueued after commit


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_id", "12345", "exactly 12 digits"),
        ("account_id", "12345678901a", "exactly 12 digits"),
        ("role_arn", "arn:aws:iam::888888888888:user/bob", "IAM role ARN"),
        ("role_arn", "arn:aws:iam::999999999999:role/PantryCatalogReader", "must live in account 888888888888"),
        ("regions", "eu-west-1, mars-north-1", "Not an AWS region with SageMaker: mars-north-1"),
        ("regions", " ", "at least one region"),
        ("external_id", "x", "2 to 1224 characters"),
    ],
)
def test_bad_account_input_gets_a_clear_field_error_and_nothing_is_saved(client, operator, field, value, message):
    client.force_login(operator)
    response = client.post(reverse("catalog:account_create"), {**VALID, field: value})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not AwsAccount.objects.filter(account_id="888888888888").exists()
    assert not SyncRun.objects.exists()


def test_duplicate_account_is_refused(client, operator, org):
    client.force_login(operator)
    response = client.post(
        reverse("catalog:account_create"),
        {**VALID, "account_id": org.central.account_id, "role_arn": f"arn:aws:iam::{org.central.account_id}:role/R"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["account_id"] == ["This AWS account is already registered in Pantry."]
    assert AwsAccount.objects.filter(account_id=org.central.account_id).count() == 1
    # The API answers with the same sentence (its rules are the form's).
    api = APIClient()
    api.force_authenticate(operator)
    body = {**VALID, "account_id": org.central.account_id, "name": org.central.name, "regions": ["eu-west-1"]}
    body["role_arn"] = f"arn:aws:iam::{org.central.account_id}:role/R"
    answer = api.post("/api/v1/accounts/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["account_id"] == ["This AWS account is already registered in Pantry."]
    assert answer.json()["name"] == ["Another account already has this name."]


def test_editing_keeps_the_external_id_when_left_blank_and_never_shows_it(client, operator, org):
    client.force_login(operator)
    url = reverse("catalog:account_edit", args=[org.central.uuid])
    page = client.get(url)
    assert org.central.external_id not in page.content.decode()

    response = client.post(
        url,
        {
            **VALID,
            "account_id": org.central.account_id,
            "name": "central-renamed",
            "role_arn": org.central.role_arn,
            "external_id": "",
        },
    )

    assert response.status_code == 302
    org.central.refresh_from_db()
    assert org.central.name == "central-renamed"
    assert org.central.external_id == "pantry-central-feature-store"


def test_people_who_are_not_operators_cannot_register_accounts(client, owner):
    client.force_login(owner)
    assert client.get(reverse("catalog:account_create")).status_code == 403
    assert client.post(reverse("catalog:account_create"), VALID).status_code == 403
    assert not AwsAccount.objects.filter(account_id="888888888888").exists()


def test_account_list_shows_health_last_error_and_counts(client, operator, org):
    failed = SyncRunFactory(
        account=org.central,
        status=SyncRun.Status.FAILED,
        error_code="AccessDenied",
        error_message="AssumeRole: AccessDenied: not authorized",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        api_calls={"AssumeRole": 1},
    )
    SyncState.objects.create(
        account=org.central,
        region="eu-west-1",
        last_failure_at=timezone.now(),
        last_error=failed.error_message,
        last_run=failed,
    )
    client.force_login(operator)

    html = client.get(reverse("catalog:account_list")).content.decode()

    assert "central-feature-store" in html and "payments-ml" in html
    assert "AssumeRole: AccessDenied: not authorized" in html
    assert "pantry-central-feature-store" not in html  # the external id


def test_account_list_query_count_does_not_grow_with_accounts(client, operator, django_assert_max_num_queries):
    for _ in range(15):
        account = AwsAccountFactory(regions=["eu-west-1", "us-east-1"])
        SyncRunFactory(account=account, status=SyncRun.Status.SUCCEEDED)
    client.force_login(operator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalog:account_list"))
    assert response.status_code == 200
    # Every account (and both regions of each) was on the page the budget was measured on.
    assert response.content.decode().count("account-") >= 15
    assert response.content.decode().count("<td>us-east-1</td>") >= 15


def test_member_sees_only_their_own_accounts(client, data_scientist, org):
    client.force_login(data_scientist)
    html = client.get(reverse("catalog:account_list")).content.decode()
    assert "fraud-research" in html
    assert "central-feature-store" not in html


def test_outsider_gets_404_for_another_accounts_pages(client, outsider, org):
    client.force_login(outsider)
    assert client.get(reverse("catalog:account_detail", args=[org.central.uuid])).status_code == 404
    assert client.get(reverse("catalog:account_edit", args=[org.central.uuid])).status_code == 404
    assert client.post(reverse("catalog:account_sync", args=[org.central.uuid])).status_code == 404
    run = SyncRunFactory(account=org.central)
    assert client.get(reverse("catalog:syncrun_detail", args=[run.uuid])).status_code == 404
    runs_page = client.get(reverse("catalog:syncrun_list"))
    assert runs_page.status_code == 200
    assert run.get_absolute_url() not in runs_page.content.decode()
    assert "central-feature-store" not in runs_page.content.decode()


def test_owner_can_trigger_a_sync_but_a_plain_member_cannot(client, owner, org):
    member = MembershipFactory(account=org.central, role=Membership.Role.MEMBER).user
    client.force_login(member)
    assert client.post(reverse("catalog:account_sync", args=[org.central.uuid])).status_code == 403
    assert not SyncRun.objects.exists()

    client.force_login(owner)
    response = client.post(reverse("catalog:account_sync", args=[org.central.uuid]), {"region": "eu-west-1"})
    assert response.status_code == 302
    assert SyncRun.objects.get().trigger == SyncRun.Trigger.MANUAL


def test_sync_for_a_region_the_account_does_not_use_is_refused(client, owner, org):
    client.force_login(owner)
    response = client.post(
        reverse("catalog:account_sync", args=[org.central.uuid]), {"region": "ap-south-1"}, follow=True
    )
    assert "not synced in that region" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_sync_run_list_polls_while_a_run_is_active_and_stops_after(client, operator, org):
    run = SyncRunFactory(account=org.central, status=SyncRun.Status.RUNNING, started_at=timezone.now())
    client.force_login(operator)

    partial = client.get(reverse("catalog:syncrun_list"), headers={"HX-Request": "true"})
    assert partial.status_code == 200
    body = partial.content.decode()
    assert 'hx-trigger="every 2s"' in body and "<html" not in body

    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
    assert 'hx-trigger="every 2s"' not in client.get(reverse("catalog:syncrun_list")).content.decode()


# --- API ----------------------------------------------------------------------


def test_api_lists_accounts_the_user_can_see_without_external_ids(client, data_scientist, org):
    client.force_login(data_scientist)
    body = client.get("/api/v1/accounts/").json()
    assert [a["account_id"] for a in body["results"]] == [org.consumer.account_id]
    assert "external_id" not in body["results"][0]


def test_api_operator_registers_an_account(client, operator):
    client.force_login(operator)
    payload = {**VALID, "regions": ["eu-west-1"], "sync_enabled": True}
    response = client.post("/api/v1/accounts/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["account_id"] == "888888888888"
    assert "external_id" not in response.json()
    assert SyncRun.objects.filter(account__account_id="888888888888", trigger=SyncRun.Trigger.API).count() == 1


def test_api_bad_input_names_the_field(client, operator):
    client.force_login(operator)
    response = client.post(
        "/api/v1/accounts/", {**VALID, "account_id": "12", "regions": ["nowhere-1"]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"account_id", "regions"}
    assert not AwsAccount.objects.filter(name="risk-models").exists()


def test_api_non_operator_cannot_register(client, owner):
    client.force_login(owner)
    response = client.post("/api/v1/accounts/", {**VALID, "regions": ["eu-west-1"]}, content_type="application/json")
    assert response.status_code == 403


def test_api_sync_action_queues_runs_and_lists_them(client, owner, org):
    client.force_login(owner)
    response = client.post(f"/api/v1/accounts/{org.central.uuid}/sync/", {}, content_type="application/json")
    assert response.status_code == 202
    run_id = response.json()[0]["id"]
    listed = client.get("/api/v1/sync-runs/", {"status": "queued"}).json()
    assert [r["id"] for r in listed["results"]] == [run_id]


def test_api_outsider_gets_404_for_other_accounts_and_runs(client, outsider, org):
    run = SyncRunFactory(account=org.central)
    client.force_login(outsider)
    assert client.get(f"/api/v1/accounts/{org.central.uuid}/").status_code == 404
    assert client.post(f"/api/v1/accounts/{org.central.uuid}/sync/").status_code == 404
    assert client.get(f"/api/v1/sync-runs/{run.uuid}/").status_code == 404


def test_anonymous_users_are_sent_to_login_and_the_api_refuses_them(client, org):
    assert client.get(reverse("catalog:account_list")).status_code == 302
    assert client.get("/api/v1/accounts/").status_code in (401, 403)


def test_scheduled_sync_queues_only_due_owner_accounts(org):
    from catalog.services.sync import sync_due_accounts_request

    SyncRunFactory(account=org.central, status=SyncRun.Status.SUCCEEDED, queued_at=timezone.now())
    queued = sync_due_accounts_request()
    assert {r.account.name for r in queued} == {"payments-ml"}  # central is fresh; consumers are not synced


def test_admin_site_registers_accounts_with_the_same_validation(client, org):
    from tests.factories import UserFactory

    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:catalog_awsaccount_add")
    bad = client.post(
        url, {**VALID, "regions": "atlantis-1", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    )
    assert bad.status_code == 200
    assert "Not an AWS region with SageMaker: atlantis-1" in bad.content.decode()

    good = client.post(url, {**VALID, "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert good.status_code == 302
    assert AwsAccount.objects.get(account_id="888888888888").regions == ["eu-west-1", "us-east-1"]

"""The sharing API (/api/v1/): every step of the workflow as a call, with real error statuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sharing.models import AccessRequest, Grant, Notification
from tests.factories import FeatureGroupFactory, GrantFactory


@pytest.fixture
def group(org):
    return FeatureGroupFactory(account=org.central, name="customer_digital_engagement")


@pytest.fixture
def discoverable(org):
    return GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")


def _client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _ask(user, group, **overrides):
    body = {
        "feature_group": str(group.uuid),
        "consumer_account_id": "444444444444",
        "level": "read_only",
        "reason": "Fraud model",
        "ends_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    body.update(overrides)
    return _client(user).post("/api/v1/access-requests/", body, format="json")


def test_request_approve_flow_over_the_api(
    org, group, discoverable, data_scientist, owner, django_capture_on_commit_callbacks
):
    created = _ask(data_scientist, group)
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    assert created.json()["state"] == "pending"

    inbox = _client(owner).get("/api/v1/access-requests/", {"box": "inbox"})
    assert [r["id"] for r in inbox.json()["results"]] == [request_id]

    with django_capture_on_commit_callbacks(execute=False):
        approved = _client(owner).post(
            f"/api/v1/access-requests/{request_id}/approve/", {"note": "ok", "level": "read_only"}, format="json"
        )
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved"
    assert approved.json()["decided_by"] == "omar"

    mine = _client(data_scientist).get("/api/v1/notifications/")
    assert any("approved" in n["message"] for n in mine.json()["results"])
    read = _client(data_scientist).post("/api/v1/notifications/read/", {}, format="json")
    assert read.json()["updated"] >= 1
    assert not Notification.objects.filter(user=data_scientist, read_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 4097}, "reason"),
        ({"ends_on": "2000-01-01"}, "ends_on"),
        ({"level": "owner"}, "level"),
    ],
)
def test_bad_requests_are_400_naming_the_field(org, group, discoverable, data_scientist, overrides, field):
    response = _ask(data_scientist, group, **overrides)
    assert response.status_code == 400
    assert field in response.json()
    assert AccessRequest.objects.count() == 0


def test_outsider_gets_404_for_an_undiscoverable_group_and_403_for_someone_elses_account(org, group, outsider):
    assert _ask(outsider, group, consumer_account_id="777777777777").status_code == 404
    assert _ask(outsider, group).status_code == 403


def test_anonymous_is_401(group):
    assert _ask(None, group).status_code == 401
    assert APIClient().get("/api/v1/access-requests/").status_code == 401


def test_only_owners_decide_and_nobody_sees_others_requests(
    org, group, discoverable, data_scientist, consumer_admin, outsider, governance
):
    request_id = _ask(data_scientist, group).json()["id"]
    assert _client(outsider).get(f"/api/v1/access-requests/{request_id}/").status_code == 404
    assert _client(outsider).post(f"/api/v1/access-requests/{request_id}/approve/", {}).status_code == 404
    # Who sees the request but does not decide gets 403: the requester, governance (reads everything).
    assert _client(data_scientist).post(f"/api/v1/access-requests/{request_id}/approve/", {}).status_code == 403
    assert _client(governance).get(f"/api/v1/access-requests/{request_id}/").status_code == 200
    assert _client(governance).post(f"/api/v1/access-requests/{request_id}/approve/", {}).status_code == 403
    assert _client(consumer_admin).get(f"/api/v1/access-requests/{request_id}/").status_code == 200


def test_reject_needs_a_note(org, group, discoverable, data_scientist, owner):
    request_id = _ask(data_scientist, group).json()["id"]
    assert _client(owner).post(f"/api/v1/access-requests/{request_id}/reject/", {}, format="json").status_code == 400
    done = _client(owner).post(f"/api/v1/access-requests/{request_id}/reject/", {"note": "No"}, format="json")
    assert done.json()["state"] == "rejected"
    again = _client(owner).post(f"/api/v1/access-requests/{request_id}/approve/", {}, format="json")
    assert again.status_code == 400
    assert "rejected" in again.json()["detail"]


def test_withdraw_is_the_requesters(org, group, discoverable, data_scientist, owner):
    request_id = _ask(data_scientist, group).json()["id"]
    assert _client(owner).post(f"/api/v1/access-requests/{request_id}/withdraw/").status_code == 403
    done = _client(data_scientist).post(f"/api/v1/access-requests/{request_id}/withdraw/")
    assert done.json()["state"] == "withdrawn"


def test_unknown_query_parameter_is_400(data_scientist):
    assert _client(data_scientist).get("/api/v1/access-requests/", {"boxx": "mine"}).status_code == 400


def test_grants_are_listed_for_owners_and_revoke_is_theirs(org, group, owner, consumer_admin, outsider):
    grant = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=group,
        permission=Grant.Permission.READ_ONLY,
    )
    listed = _client(owner).get("/api/v1/grants/")
    assert [g["id"] for g in listed.json()["results"]] == [str(grant.uuid)]
    assert _client(outsider).get("/api/v1/grants/").json()["results"] == []
    assert _client(consumer_admin).post(f"/api/v1/grants/{grant.uuid}/revoke/", {}).status_code == 404
    assert _client(outsider).post(f"/api/v1/grants/{grant.uuid}/revoke/", {}).status_code == 404
    done = _client(owner).post(f"/api/v1/grants/{grant.uuid}/revoke/", {"note": "bye"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "revoked"


def test_share_create_by_a_non_owner_is_403_before_validation(org, consumer_admin):
    response = _client(consumer_admin).post(
        "/api/v1/shares/",
        {"owner_account_id": "111111111111", "consumer_account_id": "x", "region": "eu-west-1"},
        format="json",
    )
    assert response.status_code == 403
    response = _client(consumer_admin).post(
        "/api/v1/shares/",
        {"owner_account_id": "111111111111", "consumer_account_id": "444444444444", "region": "eu-west-1"},
        format="json",
    )
    assert response.status_code == 403

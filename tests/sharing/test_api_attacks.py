"""Hostile calls to the sharing API: other accounts' ids, malformed ids, NUL bytes, huge text."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import FeatureGroupFactory, GrantFactory

ACTIONS = [
    "access-requests/{id}/approve/",
    "access-requests/{id}/reject/",
    "access-requests/{id}/withdraw/",
    "access-requests/{id}/retry/",
    "grants/{id}/revoke/",
    "invitations/{id}/accept/",
    "invitations/{id}/reject/",
    "invitations/{id}/resend/",
]


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("path", ACTIONS)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "%00", "1" * 5000, "0f5c3b1e-7a2d-4c8e-9b6a-2d4e8f1a3c5b"])
def test_malformed_or_unknown_ids_are_404_for_everyone(path, bad_id, owner, outsider):
    for user in (owner, outsider):
        response = _client(user).post("/api/v1/" + path.format(id=bad_id), {"note": "x"}, format="json")
        # NUL bytes are refused by BadInputMiddleware before routing (400); anything else is a plain 404.
        assert response.status_code == (400 if bad_id == "%00" else 404), (user, response.content)


def test_only_owners_revoke_a_grant(org, outsider, data_scientist, consumer_admin, governance):
    grant = GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for user, expected in ((outsider, 404), (data_scientist, 404), (consumer_admin, 404), (governance, 403)):
        response = _client(user).post(f"/api/v1/grants/{grant.uuid}/revoke/", {"note": "x"}, format="json")
        assert response.status_code == expected, (user, response.content)
        assert str(grant.uuid) not in response.content.decode()
    status_before = grant.status
    grant.refresh_from_db()
    assert grant.status == status_before


def test_outsider_decisions_on_a_real_request_are_404_and_change_nothing(org, data_scientist, outsider, owner):
    group = FeatureGroupFactory(account=org.central, name="g1")
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    created = _client(data_scientist).post(
        "/api/v1/access-requests/",
        {"feature_group": str(group.uuid), "consumer_account_id": "444444444444", "level": "read_only", "reason": "r"},
        format="json",
    )
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    for verb in ("approve", "reject", "withdraw", "retry"):
        response = _client(outsider).post(
            f"/api/v1/access-requests/{rid}/{verb}/", {"note": "x" * 100000}, format="json"
        )
        assert response.status_code == 404, (verb, response.content)
    # the requester deciding their own: 403 (or 404), never 200
    for verb in ("approve", "reject"):
        response = _client(data_scientist).post(f"/api/v1/access-requests/{rid}/{verb}/", {"note": "x"}, format="json")
        assert response.status_code in (403, 404), (verb, response.content)
    # huge note / NUL in body from owner: 4xx, not 500
    response = _client(owner).post(f"/api/v1/access-requests/{rid}/reject/", {"note": "x" * 1_000_000}, format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    response = _client(owner).post(f"/api/v1/access-requests/{rid}/reject/", {"note": "a\x00b"}, format="json")
    assert response.status_code == 400, response.content
    assert _client(data_scientist).get(f"/api/v1/access-requests/{rid}/").json()["state"] == "pending"


def test_huge_reason_and_nul_on_create(org, data_scientist):
    group = FeatureGroupFactory(account=org.central, name="g2")
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for reason in ("x" * 1_000_000, "a\x00b"):
        response = _client(data_scientist).post(
            "/api/v1/access-requests/",
            {
                "feature_group": str(group.uuid),
                "consumer_account_id": "444444444444",
                "level": "read_only",
                "reason": reason,
            },
            format="json",
        )
        assert response.status_code == 400, response.content[:300]


def test_share_create_for_someone_elses_account(org, outsider, data_scientist, owner):
    for user in (outsider, data_scientist):
        for body in (
            {
                "owner_account_id": org.central.account_id,
                "consumer_account_id": "444444444444",
                "region": "eu-west-1",
                "level": "read_only",
                "catalog": True,
                "feature_groups": [],
            },
            {"owner_account_id": "\x00", "consumer_account_id": "x"},
            ["list"],
        ):
            response = _client(user).post("/api/v1/shares/", body, format="json")
            assert response.status_code in (400, 403), response.content


def test_catalog_request_does_not_tell_unseen_accounts_from_unknown_ones(org, outsider):
    """An outsider asking to discover a real account they cannot see gets the same 404 as for a made-up id."""
    answers = []
    for account_id in (org.central.account_id, "999999999999"):
        response = _client(outsider).post(
            "/api/v1/access-requests/",
            {
                "consumer_account_id": org.unrelated.account_id,
                "owner_account_id": account_id,
                "region": "eu-west-1",
                "level": "discover",
                "reason": "x",
            },
            format="json",
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == (404, {"detail": "No such account."})

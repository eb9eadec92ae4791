"""Usage API: the dashboards' figures as JSON, within the caller's scope, with real error statuses."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from rest_framework.test import APIClient

from tests.usage.dashboard_data import usage_world
from usage.models import CloudTrailEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return usage_world(org)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_governance_summary_equals_a_direct_count(governance, org, world):
    response = _api(governance).get("/api/v1/usage/summary/")
    assert response.status_code == 200
    body = response.json()
    start = date.fromisoformat(body["filters"]["start"])
    recent = [e for e in CloudTrailEvent.objects.all() if e.event_time.date() >= start]
    assert body["outcomes"] == dict(Counter(e.outcome for e in recent))
    ok = [e for e in recent if e.outcome == "success"]
    assert body["reads"] == sum(1 for e in ok if e.read_only)
    assert body["writes"] == sum(1 for e in ok if not e.read_only)
    assert {g["name"]: g["calls"] for g in body["top_groups"]} == dict(Counter(e.feature_group.name for e in ok))
    assert {(d["operation"], d["calls"]) for d in body["denied"]} == {("GetRecord", 2), ("PutRecord", 1)}


def test_daily_series_has_every_day_of_the_range(governance, world):
    body = _api(governance).get("/api/v1/usage/daily/", {"operation": "GetRecord"}).json()
    assert len(body["days"]) == 30
    assert body["operations"] == ["GetRecord"]
    assert (
        sum(d["total"] for d in body["days"])
        == CloudTrailEvent.objects.filter(
            event_name="GetRecord", event_time__date__gte=body["filters"]["start"]
        ).count()
    )


def test_an_owner_reads_only_their_groups_usage(owner, org, world):
    body = _api(owner).get("/api/v1/usage/summary/").json()
    assert {g["name"] for g in body["top_groups"]} == {"customer_profile", "fraud_scores"}
    # Naming another owner's account or group is the same 404 as one that does not exist.
    assert _api(owner).get("/api/v1/usage/summary/", {"owner": org.team.account_id}).status_code == 404
    assert _api(owner).get("/api/v1/usage/summary/", {"owner": "999999999999"}).status_code == 404
    assert _api(owner).get("/api/v1/usage/daily/", {"group": str(world.payments.uuid)}).status_code == 404
    assert _api(owner).get(f"/api/v1/usage/groups/{world.payments.uuid}/").status_code == 404
    group = _api(owner).get(f"/api/v1/usage/groups/{world.profile.uuid}/").json()
    assert group["total_calls"] == 42
    assert {c["account_id"] for c in group["consumers"]} == {org.consumer.account_id, org.team.account_id}


def test_people_without_an_owner_side_are_refused_before_their_query_is_read(
    data_scientist, consumer_admin, outsider, world
):
    for user in (data_scientist, consumer_admin, outsider):
        response = _api(user).get("/api/v1/usage/summary/", {"operation": "Nonsense", "bogus": "1"})
        assert response.status_code == 403
        assert "owners and admins of owner accounts" in response.json()["detail"]


def test_a_consumer_sees_the_group_but_not_who_uses_it(data_scientist, outsider, world):
    assert _api(data_scientist).get(f"/api/v1/usage/groups/{world.profile.uuid}/").status_code == 403
    assert _api(outsider).get(f"/api/v1/usage/groups/{world.profile.uuid}/").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"operation": "DropTable"}, "operation"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "non_field_errors"),
        ({"consumer": "abc"}, "consumer"),
        ({"group": "nope"}, "group"),
        ({"owner": "999999999999"}, "owner"),
        ({"end": "0001-01-01"}, "end"),
        ({"end": "9999-12-31"}, "end"),
    ],
)
def test_bad_filters_are_400_naming_the_field(governance, world, params, field):
    response = _api(governance).get("/api/v1/usage/summary/", params)
    assert response.status_code == 400
    key = "__all__" if field == "non_field_errors" else field
    assert key in response.json()


def test_unknown_parameters_are_400(governance, world):
    response = _api(governance).get("/api/v1/usage/daily/", {"serach": "x"})
    assert response.status_code == 400
    assert "serach" in response.json()["detail"]


def test_signed_out_is_401(world):
    assert APIClient().get("/api/v1/usage/summary/").status_code == 401

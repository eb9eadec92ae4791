"""One access vocabulary: the badge on a search result, the "My access" facet, the group page
and the API's access fields say the same thing in the same words, for every persona."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from rest_framework.test import APIClient

from catalog.models import Membership
from catalog.selectors import access
from sharing.models import Grant
from tests.factories import FeatureGroupFactory, GrantFactory, MembershipFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["data_scientist", "owner", "consumer_admin", "governance", "operator", "member_of_two"]


@pytest.fixture
def member_of_two(org):
    """Someone in the central account and the consumer account: several levels at once."""
    from tests.factories import UserFactory

    user = UserFactory(username="mo", first_name="Mo", last_name="Both")
    MembershipFactory(user=user, account=org.central, role=Membership.Role.MEMBER)
    MembershipFactory(user=user, account=org.consumer, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def shared_catalog(org):
    groups = {
        name: FeatureGroupFactory(account=account, name=name)
        for name, account in [
            ("central_read", org.central),
            ("central_discoverable", org.central),
            ("team_read_write", org.team),
            ("team_admin", org.team),
            ("lab_private", org.unrelated),
        ]
    }
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for name, owner, permission in [
        ("central_read", org.central, Grant.Permission.READ_ONLY),
        ("team_read_write", org.team, Grant.Permission.READ_WRITE),
        ("team_admin", org.team, Grant.Permission.ADMIN),
    ]:
        GrantFactory(
            owner_account=owner,
            consumer_account=org.consumer,
            resource_type=Grant.ResourceType.FEATURE_GROUP,
            feature_group=groups[name],
            permission=permission,
        )
    return groups


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page_badges(html: str) -> dict[str, str]:
    """Group name → the access badge shown next to it in the search results."""
    found = re.findall(r'<a href="/groups/[^"]+/">([^<]+)</a>\s*<span class="badge[^"]*"[^>]*>([^<]+)</span>', html)
    return {name: htmllib.unescape(label) for name, label in found}


def _page_access_facet(html: str) -> dict[str, str]:
    """Value → label of the "My access" facet's checkboxes."""
    found = re.findall(
        r'name="access" value="([^"]+)"[^>]*>\s*<label[^>]*>\s*<span[^>]*>([^<]+)</span>', html, flags=re.S
    )
    return {value: htmllib.unescape(label) for value, label in found}


@pytest.mark.parametrize("persona", PERSONAS)
def test_badges_facet_group_page_and_api_share_one_vocabulary(request, client, persona, shared_catalog):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    page = client.get("/catalog/")
    assert page.status_code == 200
    html = page.content.decode()
    badges = _page_badges(html)
    facet = _page_access_facet(html)
    assert badges, "the search page lists groups with access badges"
    # Every badge on the page is a value of the facet, in the same words, and vice versa.
    assert set(badges.values()) == set(facet.values())

    body = _api(user).get("/api/v1/search/").json()
    api_facet = {f["value"]: f["label"] for f in body["facets"]["access"]}
    assert api_facet == facet
    for row in body["groups"]:
        # The row's access is a facet value, labelled as on the page's badge.
        assert api_facet[row["access_level"]] == row["access_label"] == badges[row["name"]]
        # Ticking that facet value keeps the row.
        narrowed = _api(user).get("/api/v1/search/", {"access": row["access_level"]}).json()
        assert row["name"] in [g["name"] for g in narrowed["groups"]]
        # The feature-group API and the group page say the same.
        detail = _api(user).get(f"/api/v1/feature-groups/{row['id']}/").json()
        assert (detail["access_level"], detail["access_label"]) == (row["access_level"], row["access_label"])
        group_page = client.get(f"/groups/{row['id']}/").content.decode()
        assert f'title="Your access level">{htmllib.escape(row["access_label"])}</span>' in group_page


def test_every_level_has_one_slug_and_one_label(db):
    assert [level.slug for level in access.ACCESS_LEVELS] == [
        "mine",
        "admin",
        "read_write",
        "read_only",
        "discoverable",
        "none",
    ]
    labels = [level.label for level in access.ACCESS_LEVELS]
    assert len(set(labels)) == len(labels)
    assert "governance" not in " ".join(labels).lower()  # operators see the same words


def test_data_scientist_sees_each_grant_level_by_its_own_name(client, data_scientist, shared_catalog):
    client.force_login(data_scientist)
    badges = _page_badges(client.get("/catalog/").content.decode())
    assert badges == {
        "central_read": "Can read",
        "central_discoverable": "Discoverable only",
        "team_read_write": "Can read and write",
        "team_admin": "Admin",
    }


@pytest.mark.parametrize("persona", ["governance", "operator"])
def test_overseers_see_unshared_groups_under_the_same_label(request, client, persona, shared_catalog):
    user = request.getfixturevalue(persona)
    body = _api(user).get("/api/v1/search/").json()
    labels = {g["name"]: (g["access_level"], g["access_label"]) for g in body["groups"]}
    assert labels["lab_private"] == ("none", "Not shared with you")
    assert {f["value"]: f["label"] for f in body["facets"]["access"]} == {"none": "Not shared with you"}


def test_old_can_read_links_still_filter_to_every_readable_level(data_scientist, shared_catalog):
    body = _api(data_scientist).get("/api/v1/search/", {"access": "can_read"}).json()
    assert {g["name"] for g in body["groups"]} == {"central_read", "team_read_write", "team_admin"}
    assert {f["value"] for f in body["facets"]["access"] if f["selected"]} == {"read_only", "read_write", "admin"}

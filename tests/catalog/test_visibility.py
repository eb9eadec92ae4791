"""The visibility gate and access levels, persona by persona."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from catalog.models import FeatureGroup
from catalog.selectors import access
from sharing.models import Grant
from tests.factories import FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(org):
    g = {
        "central_eu": FeatureGroupFactory(account=org.central, region="eu-west-1", name="central_eu"),
        "central_us": FeatureGroupFactory(account=org.central, region="us-east-1", name="central_us"),
        "team_shared": FeatureGroupFactory(account=org.team, name="team_shared"),
        "team_private": FeatureGroupFactory(account=org.team, name="team_private"),
        "team_expired": FeatureGroupFactory(account=org.team, name="team_expired"),
        "team_revoked": FeatureGroupFactory(account=org.team, name="team_revoked"),
        "unrelated": FeatureGroupFactory(account=org.unrelated, name="unrelated"),
    }
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    GrantFactory(
        owner_account=org.team,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=g["team_shared"],
        permission=Grant.Permission.READ_WRITE,
    )
    GrantFactory(
        owner_account=org.team,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=g["team_expired"],
        permission=Grant.Permission.ADMIN,
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    GrantFactory(
        owner_account=org.team,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=g["team_revoked"],
        permission=Grant.Permission.READ_ONLY,
        status=Grant.Status.REVOKED,
    )
    return g


def visible_names(user) -> set[str]:
    return set(FeatureGroup.objects.visible_to(user).values_list("name", flat=True))


def levels(user) -> dict[str, int]:
    return dict(
        access.annotate_access_level(FeatureGroup.objects.visible_to(user), user).values_list("name", "access_level")
    )


def test_data_scientist_sees_discoverable_catalog_region_and_direct_grants_only(data_scientist, groups):
    assert visible_names(data_scientist) == {"central_eu", "team_shared"}
    assert levels(data_scientist) == {"central_eu": access.DISCOVERABLE, "team_shared": access.READ_WRITE}


def test_owner_sees_own_account_in_every_region_as_mine(owner, groups):
    assert visible_names(owner) == {"central_eu", "central_us"}
    assert set(levels(owner).values()) == {access.MINE}


def test_governance_and_operators_see_everything(governance, operator, groups):
    assert visible_names(governance) == set(groups)
    assert visible_names(operator) == set(groups)
    assert set(levels(governance).values()) == {access.NONE}


def test_outsider_sees_only_their_own_account(outsider, groups):
    assert visible_names(outsider) == {"unrelated"}


def test_anonymous_and_inactive_users_see_nothing(data_scientist, groups):
    assert visible_names(AnonymousUser()) == set()
    data_scientist.is_active = False
    assert visible_names(data_scientist) == set()


def test_a_member_of_an_account_with_nothing_shared_sees_nothing_else(org, groups):
    from tests.factories import MembershipFactory

    lonely = MembershipFactory(account=org.team).user
    assert visible_names(lonely) == {"team_shared", "team_private", "team_expired", "team_revoked"}

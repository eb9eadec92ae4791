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


def _scope_from_the_orm(user):
    """The rule spelled with the models: memberships, then `Grant.objects.active()` on them."""
    from catalog.models import Membership, user_sees_everything

    members = set(Membership.objects.filter(user=user).values_list("account_id", flat=True))
    grants = Grant.objects.active().filter(consumer_account_id__in=members)
    by_level = {p: set() for p in (Grant.Permission.ADMIN, Grant.Permission.READ_WRITE, Grant.Permission.READ_ONLY)}
    catalogs = set()
    for kind, owner_id, region, group_id, permission in grants.values_list(
        "resource_type", "owner_account_id", "region", "feature_group_id", "permission"
    ):
        if kind == Grant.ResourceType.CATALOG:
            catalogs.add((owner_id, region))
        else:
            by_level[permission].add(group_id)
    return (
        user_sees_everything(user),
        members,
        catalogs,
        by_level[Grant.Permission.ADMIN],
        by_level[Grant.Permission.READ_WRITE],
        by_level[Grant.Permission.READ_ONLY],
    )


@pytest.mark.parametrize("persona", ["data_scientist", "owner", "consumer_admin", "governance", "operator", "outsider"])
def test_the_scope_is_read_in_one_query_and_matches_the_grant_rules(
    request, persona, groups, django_assert_num_queries
):
    from django.contrib.auth import get_user_model

    from sharing.visibility import visibility_scope

    user = get_user_model().objects.get(pk=request.getfixturevalue(persona).pk)  # nothing cached on it
    with django_assert_num_queries(1):
        scope = visibility_scope(user)
    fresh = get_user_model().objects.get(pk=user.pk)
    assert (
        scope.everything,
        set(scope.member_accounts),
        set(scope.catalogs),
        set(scope.admin_groups),
        set(scope.read_write_groups),
        set(scope.read_only_groups),
    ) == _scope_from_the_orm(fresh)


def test_a_grant_that_expires_leaves_the_scope_at_once(data_scientist, groups):
    from sharing.visibility import visibility_scope

    grant = Grant.objects.get(feature_group=groups["team_shared"])
    assert groups["team_shared"].pk in visibility_scope(data_scientist).read_write_groups
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert groups["team_shared"].pk not in visibility_scope(data_scientist).granted_groups


@pytest.mark.parametrize("persona", ["data_scientist", "owner", "consumer_admin", "governance", "operator", "outsider"])
def test_the_scope_judges_a_group_in_hand_as_the_gate_does(request, persona, groups):
    from sharing.visibility import visibility_scope

    user = request.getfixturevalue(persona)
    scope = visibility_scope(user)
    gate = set(FeatureGroup.objects.visible_to(user, scope=scope).values_list("name", flat=True))
    assert {name for name, group in groups.items() if scope.sees(group)} == gate

"""Shared fixtures: personas, the organisation they live in, and the AWS sandbox.

Personas (CONVENTIONS.md): a data scientist in a consumer account, the owner
of the central feature store account, a consumer account admin, a governance
user, an operator (staff), and an outsider who belongs to an unrelated
account and has been granted nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group

from catalog.models import GOVERNANCE_GROUP, AwsAccount, Membership
from sharing.models import Grant
from tests.factories import AwsAccountFactory, GrantFactory, MembershipFactory, UserFactory


@dataclass
class Org:
    central: AwsAccount
    team: AwsAccount
    consumer: AwsAccount
    unrelated: AwsAccount


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness is for production; every persona is a
    # hashed password, and tests like the authorization matrix make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # API throttles count in the (per-process) cache: every test starts with none spent.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def org(db) -> Org:
    return Org(
        central=AwsAccountFactory(name="central-feature-store", account_id="111111111111", kind=AwsAccount.Kind.OWNER),
        team=AwsAccountFactory(name="payments-ml", account_id="222222222222", kind=AwsAccount.Kind.BOTH),
        consumer=AwsAccountFactory(name="fraud-research", account_id="444444444444", kind=AwsAccount.Kind.CONSUMER),
        unrelated=AwsAccountFactory(name="sandbox-lab", account_id="777777777777", kind=AwsAccount.Kind.CONSUMER),
    )


@pytest.fixture
def data_scientist(org):
    user = UserFactory(username="dana", first_name="Dana", last_name="Scientist")
    MembershipFactory(user=user, account=org.consumer, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def owner(org):
    user = UserFactory(username="omar", first_name="Omar", last_name="Owner")
    MembershipFactory(user=user, account=org.central, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def consumer_admin(org):
    user = UserFactory(username="carla", first_name="Carla", last_name="Admin")
    MembershipFactory(user=user, account=org.consumer, role=Membership.Role.ACCOUNT_ADMIN)
    return user


@pytest.fixture
def governance(org):
    user = UserFactory(username="gita", first_name="Gita", last_name="Governance")
    user.groups.add(Group.objects.get_or_create(name=GOVERNANCE_GROUP)[0])
    return user


@pytest.fixture
def operator(org):
    return UserFactory(username="otto", first_name="Otto", last_name="Operator", is_staff=True)


@pytest.fixture
def outsider(org):
    user = UserFactory(username="eve", first_name="Eve", last_name="Outsider")
    MembershipFactory(user=user, account=org.unrelated, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def reader_grant(org, group):
    """The consumer account (the data scientist's) may read `group` (each test module defines it)."""
    return GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=group,
        permission=Grant.Permission.READ_ONLY,
    )

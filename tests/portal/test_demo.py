"""The demo organisation mirrors the sandbox manifest and is safe to load again."""

import pytest
from django.contrib.auth import get_user_model

from catalog.models import AwsAccount, Membership
from portal import demo
from sharing.models import Grant
from tests.factories import FeatureGroupFactory

pytestmark = pytest.mark.django_db

MANIFEST = {
    "accounts": [
        {
            "account_id": "111111111111",
            "name": "central-feature-store",
            "kind": "owner",
            "role_arn": "arn:aws:iam::111111111111:role/PantryCatalogReader",
            "external_id": "pantry-central-feature-store",
            "regions": ["eu-west-1"],
        },
        {
            "account_id": "444444444444",
            "name": "fraud-research",
            "kind": "consumer",
            "role_arn": "arn:aws:iam::444444444444:role/PantryCatalogReader",
            "external_id": "pantry-fraud-research",
            "regions": ["eu-west-1"],
        },
    ],
    "discoverable": [{"owner_account": "111111111111", "region": "eu-west-1", "consumer_accounts": ["444444444444"]}],
    "access": [
        {
            "arn": "arn:aws:sagemaker:eu-west-1:111111111111:feature-group/customer_demographics",
            "consumer_account": "444444444444",
            "permission": "ReadOnly",
        }
    ],
}


def test_demo_organisation_registers_accounts_personas_and_grants_and_can_load_twice():
    demo.demo_organisation_load(manifest=MANIFEST)
    dana = get_user_model().objects.get(username="dana")
    dana.set_password("changed-by-dana")
    dana.save()

    counts = demo.demo_organisation_load(manifest=MANIFEST)

    assert counts["accounts"] == 2
    assert AwsAccount.objects.count() == 2
    assert AwsAccount.objects.get(account_id="111111111111").metadata_write_allowed is True
    assert Membership.objects.get(user__username="omar").role == Membership.Role.OWNER
    assert get_user_model().objects.get(username="otto").is_staff
    assert get_user_model().objects.get(username="dana").check_password("changed-by-dana")
    assert Grant.objects.get(resource_type=Grant.ResourceType.CATALOG).consumer_account.name == "fraud-research"


def test_access_grants_appear_once_the_group_is_synced():
    demo.demo_organisation_load(manifest=MANIFEST)
    assert demo.demo_access_grants_load(manifest=MANIFEST) == 0  # not synced yet
    FeatureGroupFactory(
        account=AwsAccount.objects.get(account_id="111111111111"),
        name="customer_demographics",
        arn=MANIFEST["access"][0]["arn"],
    )

    assert demo.demo_access_grants_load(manifest=MANIFEST) == 1
    assert demo.demo_access_grants_load(manifest=MANIFEST) == 1
    grant = Grant.objects.get(resource_type=Grant.ResourceType.FEATURE_GROUP)
    assert grant.permission == Grant.Permission.READ_ONLY
    assert Grant.objects.count() == 2


def test_demo_role_mappings_turn_the_demo_idp_groups_into_memberships_and_load_twice():
    from identity.models import RoleMapping
    from identity.services.directory import directory_sign_in

    demo.demo_organisation_load(manifest=MANIFEST)
    counts = demo.demo_organisation_load(manifest=MANIFEST)
    # payments-ml is not in this manifest: its mapping is skipped, the rest load once.
    assert counts["role_mappings"] == 5 and RoleMapping.objects.count() == 5
    olga = next(p for p in demo.DIRECTORY_PEOPLE if p.sub == "olga")
    user = directory_sign_in(issuer="http://127.0.0.1:1", claims=olga.claims(), groups_claim="groups")
    assert {m.account.name: m.role for m in Membership.objects.filter(user=user)} == {
        "central-feature-store": Membership.Role.OWNER,
        "fraud-research": Membership.Role.MEMBER,
    }

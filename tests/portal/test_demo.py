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


def test_after_the_first_sync_the_demo_mirrors_ram_and_leaves_a_request_for_omar(aws_sandbox):
    from sandbox import seed
    from sharing.models import AccessRequest, Share
    from tests.aws_fixtures import sandbox_feature_group

    url = aws_sandbox.url
    for account in MANIFEST["accounts"]:
        seed.create_reader_role(url, account["account_id"], account["external_id"])
        seed.ensure_bucket(
            url, account["account_id"], "eu-west-1", seed.offline_bucket(account["account_id"], "eu-west-1")
        )
    arns = {
        name: sandbox_feature_group(url, "111111111111", name)
        for name in ("customer_demographics", "customer_value_scores")
    }
    rows = seed.share_with_account(
        url,
        owner="111111111111",
        region="eu-west-1",
        consumer="444444444444",
        consumer_name="fraud-research",
        level="ReadOnly",
        resource_arns=[arns["customer_demographics"]],
        accept=True,
    )
    demo.demo_organisation_load(manifest={**MANIFEST, "shares": rows})
    central = AwsAccount.objects.get(account_id="111111111111")
    for name, arn in arns.items():
        FeatureGroupFactory(account=central, name=name, arn=arn)

    assert demo.demo_access_grants_load(manifest={**MANIFEST, "shares": rows}) == 2  # the catalog and one group
    assert demo.demo_access_grants_load(manifest={**MANIFEST, "shares": rows}) == 2

    grant = Grant.objects.get(resource_type=Grant.ResourceType.FEATURE_GROUP)
    assert grant.permission == Grant.Permission.READ_ONLY
    assert grant.resource_share_arn == rows[0]["share_arn"]
    share = Share.objects.get(resource_share_arn=rows[0]["share_arn"])
    assert not share.made_outside_pantry  # adopted: Pantry extends it
    request = AccessRequest.objects.get()
    assert (request.requester.username, request.feature_group.name, request.state) == (
        "dana",
        "customer_value_scores",
        "pending",
    )


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

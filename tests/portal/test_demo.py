"""The demo organisation mirrors the sandbox manifest and is safe to load again."""

import time

import pytest
from django.contrib.auth import get_user_model

from catalog.models import AwsAccount, Membership
from portal import demo
from sharing.models import Grant
from tests.factories import AwsAccountFactory, FeatureGroupFactory

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


@pytest.mark.django_db(transaction=True)
def test_a_new_sandbox_empties_the_demo_database_of_the_previous_run_and_the_organisation_loads_again():
    """A restart on an old data folder: the old run's grants would name RAM shares the new sandbox lacks."""
    assert demo.demo_database_reset() is False  # nothing there yet: nothing to do
    demo.demo_organisation_load(manifest=MANIFEST)
    FeatureGroupFactory(account=AwsAccount.objects.get(account_id="111111111111"), name="left_from_last_run")
    assert Grant.objects.exists()

    assert demo.demo_database_reset() is True

    assert not AwsAccount.objects.exists()
    assert not Grant.objects.exists()
    assert not get_user_model().objects.exists()
    counts = demo.demo_organisation_load(manifest=MANIFEST)
    assert counts["accounts"] == 2
    assert get_user_model().objects.get(username="dana").check_password(demo.DEMO_PASSWORD)
    assert Grant.objects.count() == 1


def _dead_child_command(tmp_path):
    """A demo command whose 'worker' has just exited with code 3 (a real process)."""
    import sys
    from io import StringIO

    from django.core.management.base import OutputWrapper

    from portal.management.commands.demo import Command

    command = Command()
    command.stdout = OutputWrapper(StringIO())
    command.log_dir = tmp_path
    command.children, command.commands, command.restarts, command.stopping = [], {}, {}, False
    dead = command._spawn("worker", [sys.executable, "-c", "raise SystemExit(3)"], {})
    dead.wait()
    # What a restart starts: the same command line; here a process that stays up.
    command.commands["worker"] = ([sys.executable, "-c", "import time; time.sleep(60)"], {})
    return command, dead


@pytest.mark.django_db(False)
def test_the_demo_starts_a_dead_worker_again_and_gives_up_when_it_keeps_dying(tmp_path):
    from django.core.management.base import CommandError

    from portal.management.commands import demo as demo_command

    command, dead = _dead_child_command(tmp_path)
    command._check_children()

    (name, proc), *_ = command.children
    try:
        assert name == "worker" and proc is not dead and proc.poll() is None
        assert "worker exited with code 3; starting it again" in command.stdout._out.getvalue()
        assert len(command.children) == 1
    finally:
        proc.kill()
        proc.wait()

    command.restarts["worker"] = [time.monotonic()] * demo_command.RESTART_LIMIT
    command.children = [("worker", dead)]
    with pytest.raises(CommandError, match=r"worker exited with code 3 6 times within 10 minutes"):
        command._check_children()


@pytest.mark.django_db(False)
def test_a_dead_sandbox_stops_the_demo_since_its_aws_state_is_gone(tmp_path):
    import sys

    from django.core.management.base import CommandError

    command, _ = _dead_child_command(tmp_path)
    command.children = []
    sandbox = command._spawn("sandbox", [sys.executable, "-c", "raise SystemExit(1)"], {})
    sandbox.wait()
    with pytest.raises(CommandError, match="the AWS sandbox exited with code 1"):
        command._check_children()


def test_after_the_first_sync_the_teams_notes_become_pantry_descriptions_written_by_the_owner():
    """AWS keeps 128 characters of a group's description; the seed's longer notes are Pantry's."""
    from catalog.models import DescriptionEdit

    demo.demo_organisation_load(manifest=MANIFEST)
    central = AwsAccount.objects.get(account_id="111111111111")
    payments = AwsAccountFactory(account_id="222222222222", name="payments-ml")
    notes = "Core demographic attributes. Keyed by customer_id; 5 features. Built nightly from the CRM."
    demographics = FeatureGroupFactory(account=central, name="customer_demographics", description="Core ...")
    edited = FeatureGroupFactory(account=central, name="customer_value_scores", pantry_description="Omar's words.")
    card = FeatureGroupFactory(account=payments, name="card_velocity")
    manifest = {
        **MANIFEST,
        "feature_groups": [
            {"arn": demographics.arn, "name": demographics.name, "pantry_description": notes},
            {"arn": edited.arn, "name": edited.name, "pantry_description": "The seed's words."},
            {"arn": card.arn, "name": card.name, "pantry_description": "Card velocity. Built from authorisations."},
        ],
    }

    assert demo.demo_descriptions_load(manifest=manifest) == 2
    assert demo.demo_descriptions_load(manifest=manifest) == 0  # loads twice

    demographics.refresh_from_db()
    assert (demographics.pantry_description, demographics.description) == (notes, "Core ...")
    edited.refresh_from_db()
    assert edited.pantry_description == "Omar's words."  # an owner's own description stays
    edit = DescriptionEdit.objects.get(feature_group=demographics)
    assert (edit.editor.username, edit.after) == ("omar", notes)
    # payments-ml has no demo owner: the notes are written all the same.
    assert DescriptionEdit.objects.get(feature_group=card).after.startswith("Card velocity.")

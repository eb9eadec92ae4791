"""Pantry-side demo data: accounts, people and grants mirroring the sandbox organisation.

The sandbox seeds AWS (feature groups, roles, lineage, catalog sharing) and
writes a manifest; this module registers the same organisation in Pantry.
It is idempotent: running the demo again updates rows instead of adding
duplicates. A run on a new sandbox empties the embedded demo database first
(`demo_database_reset`), so demo passwords someone changed are reset then.

The sandbox keeps its AWS organisation in memory, so each `make demo` starts a
new one: new RAM share ARNs, new invitations, a new CloudTrail bucket. A demo
database left by an earlier run mirrors the old organisation (its grants point
at shares that no longer exist, and the next reconcile would end them all), so
the demo command empties it first (`demo_database_reset`) when it owns both the
sandbox and the embedded database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from catalog.models import GOVERNANCE_GROUP, AwsAccount, Membership
from identity.models import RoleMapping
from sharing.models import Grant, SharingPolicy

DEMO_PASSWORD = "pantry-demo"
# central-feature-store's sharing policy: terms a requester must tick, and durations.
DEMO_POLICY = {
    "account": "central-feature-store",
    "terms_of_use": (
        "Use these features for fraud, credit and marketing models inside the organisation's AWS accounts only. "
        "Do not copy records out of AWS. Tell feature-platform@pantry.example when a model using them ships."
    ),
    "default_days": 90,
    "max_days": 180,
}


@dataclass(frozen=True)
class DemoPersona:
    username: str
    first_name: str
    last_name: str
    description: str
    account_name: str | None = None
    role: str | None = None
    staff: bool = False
    governance: bool = False


# Teams and contact addresses of the sandbox organisation's accounts.
DEMO_TEAMS = {
    "central-feature-store": ("Feature Platform", "feature-platform@pantry.example"),
    "payments-ml": ("Payments ML", "payments-ml@pantry.example"),
    "growth-analytics": ("Growth Analytics", "growth-analytics@pantry.example"),
    "fraud-research": ("Fraud Research", "fraud-research@pantry.example"),
    "marketing-science": ("Marketing Science", "marketing-science@pantry.example"),
    "credit-decisioning": ("Credit Decisioning", "credit-decisioning@pantry.example"),
}

# The account names come from the sandbox's seeded organisation.
PERSONAS = [
    DemoPersona(
        "dana", "Dana", "Scientist", "data scientist in fraud-research", "fraud-research", Membership.Role.MEMBER
    ),
    DemoPersona(
        "omar",
        "Omar",
        "Owner",
        "feature owner of central-feature-store",
        "central-feature-store",
        Membership.Role.OWNER,
    ),
    DemoPersona(
        "carla", "Carla", "Admin", "account admin of fraud-research", "fraud-research", Membership.Role.ACCOUNT_ADMIN
    ),
    DemoPersona("gita", "Gita", "Governance", "governance (sees every account)", governance=True),
    DemoPersona("otto", "Otto", "Operator", "platform operator (staff, admin site)", staff=True),
]


@dataclass(frozen=True)
class DirectoryPerson:
    """A person at the demo identity provider (oidc-provider-mock), with the groups it will claim."""

    sub: str
    given_name: str
    family_name: str
    groups: tuple[str, ...]
    description: str

    def claims(self) -> dict:
        return {
            "sub": self.sub,
            "email": f"{self.sub}@pantry.example",
            "email_verified": True,
            "preferred_username": self.sub,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "groups": list(self.groups),
        }


# One click each on the demo provider's authorization page ("Authenticate predefined users").
DIRECTORY_PEOPLE = [
    DirectoryPerson(
        "ida", "Ida", "Directory", ("fraud-research-scientists",), "data scientist in fraud-research (from the IdP)"
    ),
    DirectoryPerson(
        "olga",
        "Olga",
        "Directory",
        ("central-feature-owners", "fraud-research-scientists"),
        "owner of central-feature-store, member of fraud-research",
    ),
    DirectoryPerson(
        "pat", "Pat", "Directory", ("pantry-operators",), "platform operator through the pantry-operators group"
    ),
]

# IdP group -> (account name, role) or a right; operators edit these at /operators/role-mappings/.
DEMO_ROLE_MAPPINGS = [
    ("fraud-research-scientists", "fraud-research", Membership.Role.MEMBER),
    ("fraud-research-admins", "fraud-research", Membership.Role.ACCOUNT_ADMIN),
    ("central-feature-owners", "central-feature-store", Membership.Role.OWNER),
    ("payments-ml-owners", "payments-ml", Membership.Role.OWNER),
    ("pantry-governance", None, RoleMapping.Grants.GOVERNANCE),
    ("pantry-operators", None, RoleMapping.Grants.OPERATOR),
]


def demo_database_reset() -> bool:
    """Empty every table of a database an earlier demo run filled; False when it holds nothing yet.

    Only for the demo's embedded database (the command checks): Django's `flush`,
    which truncates all tables and re-creates content types and permissions.
    """
    from django.core.management import call_command

    if not (AwsAccount.objects.exists() or get_user_model().objects.exists()):
        return False
    call_command("flush", interactive=False, verbosity=0)
    return True


def _role_mappings_load(by_name: dict[str, AwsAccount]) -> int:
    written = 0
    for group, account_name, target in DEMO_ROLE_MAPPINGS:
        if account_name is None:
            RoleMapping.objects.get_or_create(group=group, grants=target)
        elif account_name in by_name:
            RoleMapping.objects.get_or_create(
                group=group,
                account=by_name[account_name],
                grants=RoleMapping.Grants.ACCOUNT_ROLE,
                defaults={"role": target},
            )
        else:
            continue
        written += 1
    return written


def demo_organisation_load(*, manifest: dict) -> dict[str, int]:
    """Register the manifest's accounts, the demo personas and the grants. Returns counts."""
    User = get_user_model()
    counts = {"accounts": 0, "users": 0, "grants": 0, "role_mappings": 0}
    with transaction.atomic():
        accounts: dict[str, AwsAccount] = {}
        for item in manifest["accounts"]:
            account, _ = AwsAccount.objects.update_or_create(
                account_id=item["account_id"],
                defaults={
                    "name": item["name"],
                    "kind": item["kind"],
                    "team": item.get("team") or DEMO_TEAMS.get(item["name"], ("", ""))[0],
                    "contact_email": item.get("contact_email") or DEMO_TEAMS.get(item["name"], ("", ""))[1],
                    "role_arn": item["role_arn"],
                    "external_id": item["external_id"],
                    "regions": item["regions"],
                    "metadata_write_allowed": item.get("metadata_write_allowed", item["kind"] != "consumer"),
                },
            )
            accounts[account.account_id] = account
            counts["accounts"] += 1
        by_name = {a.name: a for a in accounts.values()}

        governance_group, _ = Group.objects.get_or_create(name=GOVERNANCE_GROUP)
        for persona in PERSONAS:
            user, created = User.objects.get_or_create(
                username=persona.username,
                defaults={
                    "first_name": persona.first_name,
                    "last_name": persona.last_name,
                    "email": f"{persona.username}@pantry.example",
                    "is_staff": persona.staff,
                    "is_superuser": persona.staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            counts["users"] += 1
            if persona.governance:
                user.groups.add(governance_group)
            if persona.account_name and persona.account_name in by_name:
                Membership.objects.update_or_create(
                    user=user, account=by_name[persona.account_name], defaults={"role": persona.role}
                )

        counts["grants"] = _catalog_grants_load(manifest=manifest, accounts=accounts)
        if DEMO_POLICY["account"] in by_name:
            SharingPolicy.objects.get_or_create(
                account=by_name[DEMO_POLICY["account"]],
                defaults={k: v for k, v in DEMO_POLICY.items() if k != "account"},
            )
        counts["role_mappings"] = _role_mappings_load(by_name)
    return counts


def _catalog_grants_load(*, manifest: dict, accounts: dict[str, AwsAccount]) -> int:
    written = 0
    for share in manifest.get("discoverable", []):
        owner = accounts.get(share["owner_account"])
        if owner is None:
            continue
        for consumer_id in share["consumer_accounts"]:
            consumer = accounts.get(consumer_id)
            if consumer is None:
                continue
            key = {
                "owner_account": owner,
                "consumer_account": consumer,
                "region": share["region"],
                "resource_type": Grant.ResourceType.CATALOG,
            }
            # Once recorded (and then mirrored from RAM, or revoked by an owner), the demo leaves it alone.
            if not Grant.objects.filter(**key).exists():
                Grant.objects.create(
                    **key, permission=Grant.Permission.DISCOVER, status=Grant.Status.ACTIVE, source=Grant.Source.SEED
                )
            written += 1
    return written


def demo_descriptions_load(*, manifest: dict) -> int:
    """After the first sync: each seeded group's team notes become its Pantry description.

    AWS keeps 128 characters of a feature group's description, so the sandbox seed gave AWS the
    group's purpose and put the team's notes (sources, refresh, caveats, consumers) in the
    manifest; they are written the way an owner writes them, through
    `feature_group_description_update`, by the account's demo owner where it has one (omar for
    central-feature-store). A group whose Pantry description someone already wrote is left alone.
    Returns the number of descriptions written.
    """
    from catalog.models import FeatureGroup
    from catalog.services.descriptions import feature_group_description_update

    notes = {
        fg["arn"]: fg["pantry_description"] for fg in manifest.get("feature_groups", []) if fg.get("pantry_description")
    }
    owner_names = {p.account_name: p.username for p in PERSONAS if p.role == Membership.Role.OWNER}
    owners = get_user_model().objects.in_bulk(list(owner_names.values()), field_name="username")
    written = 0
    for group in FeatureGroup.objects.live().filter(arn__in=notes, pantry_description="").select_related("account"):
        editor = owners.get(owner_names.get(group.account.name, ""))
        if feature_group_description_update(group=group, editor=editor, description=notes[group.arn]):
            written += 1
    return written


# The demo's pending access request: dana asks omar's account for this group.
DEMO_REQUEST = {
    "requester": "dana",
    "group": "customer_value_scores",
    "level": Grant.Permission.READ_ONLY,
    "reason": "Chargeback model: customer value is a strong signal for first-party fraud; read-only is enough.",
}


def demo_access_grants_load(*, manifest: dict) -> int:
    """After the first sync: mirror the sandbox's RAM state and leave one request waiting for omar.

    Pantry reconciles RAM (`sharing.services.sharing_reconcile_all`), so the
    seeded shares, their grants and fraud-research's pending invitation are
    Pantry's real mirror of AWS, not copies of the manifest. The seed made one
    share per owner, consumer, Region and level — Pantry's own convention — so
    Pantry adopts them and extends them when omar approves. Returns the number
    of live grants.
    """
    from catalog.models import FeatureGroup
    from sharing.models import AccessRequest, Share
    from sharing.services import SharingError, access_request_create, sharing_reconcile_all

    sharing_reconcile_all()
    # Seeded by the sandbox on Pantry's behalf, in Pantry's convention: Pantry's shares to extend.
    for share in Share.objects.filter(
        made_outside_pantry=True, name__in=[s["share_name"] for s in manifest.get("shares", [])]
    ):
        clash = Share.objects.filter(
            owner_account=share.owner_account,
            consumer_account=share.consumer_account,
            region=share.region,
            level=share.level,
            made_outside_pantry=False,
        ).exclude(status=Share.Status.DELETED)
        if not clash.exists():
            Share.objects.filter(pk=share.pk).update(made_outside_pantry=False)

    User = get_user_model()
    requester = User.objects.filter(username=DEMO_REQUEST["requester"]).first()
    group = FeatureGroup.objects.live().filter(name=DEMO_REQUEST["group"]).select_related("account").first()
    if requester is not None and group is not None:
        consumer = AwsAccount.objects.filter(memberships__user=requester).exclude(pk=group.account_id).first()
        already = AccessRequest.objects.filter(requester=requester, feature_group=group).exists()
        if consumer is not None and not already:
            try:
                access_request_create(
                    user=requester,
                    consumer_account=consumer,
                    feature_group=group,
                    level=DEMO_REQUEST["level"],
                    reason=DEMO_REQUEST["reason"],
                    ends_on=None,
                    terms_accepted=True,
                )
            except SharingError:
                pass  # e.g. the access was granted in an earlier demo run
    return Grant.objects.live().count()

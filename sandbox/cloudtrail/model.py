"""The demo organisation as CloudTrail sees it: accounts, principals, feature groups, grants.

Built from the seed's manifest (never from hard-coded names): ``accounts`` (id, name, kind,
role_arn), ``feature_groups`` (arn, name, account_id, region), ``access`` (per-group grants:
arn, consumer_account, permission) and ``discoverable`` (whose catalogue each consumer can
search). Principals are derived deterministically from each account's name and kind, so the
same manifest always yields the same people, pipelines and access keys.

Two grants are singled out for the demo (:meth:`OrgModel.story`): a *dormant* read-only grant
(used early in the history, then not for 38 days) and a read-write grant that is only ever
used to read.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from .records import BOTO3_UA, CLI_UA, JAVA_UA, FeatureGroupRef, Principal

PEOPLE = [
    "priya.shah",
    "tom.okafor",
    "lena.fischer",
    "mateo.garcia",
    "aiko.tanaka",
    "sam.oduya",
    "ines.moreau",
    "raj.patel",
    "noor.haddad",
    "erik.lindqvist",
    "chloe.martin",
    "david.cohen",
    "zoe.nguyen",
    "omar.farouk",
    "julia.rossi",
    "ben.walker",
]
EMAIL_DOMAIN = "pantry.example"
PANTRY_SESSION_NAME = "pantry-catalog"  # Pantry's default PANTRY_ROLE_SESSION_NAME
PANTRY_EGRESS_IP = "203.0.113.10"
LEVELS = {"ReadOnly": 1, "ReadWrite": 2, "Admin": 3}


def _hash(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def _ua(template: str, key: str, **kw: Any) -> str:
    return template.format(p=60 + _hash(key) % 40, **kw)


@dataclass(frozen=True)
class Grant:
    group: FeatureGroupRef
    consumer: str
    permission: str
    share_arn: str = ""  # the RAM resource share, when the manifest names it

    @property
    def can_write(self) -> bool:
        return LEVELS.get(self.permission, 0) >= LEVELS["ReadWrite"]

    @property
    def is_admin(self) -> bool:
        return self.permission == "Admin"

    def as_dict(self) -> dict[str, str]:
        return {"arn": self.group.arn, "consumer_account": self.consumer, "permission": self.permission}


@dataclass
class Account:
    account_id: str
    name: str
    kind: str  # owner | consumer | both | management | log-archive
    regions: list[str]
    reader_role_arn: str | None = None
    humans: list[Principal] = field(default_factory=list)
    admin: Principal | None = None
    pipeline: Principal | None = None
    training: Principal | None = None
    ingestion: Principal | None = None
    legacy_user: Principal | None = None
    federated: Principal | None = None
    pantry: Principal | None = None

    @property
    def owns_groups(self) -> bool:
        return self.kind in ("owner", "both")

    @property
    def consumes(self) -> bool:
        return self.kind in ("consumer", "both")


class OrgModel:
    """Everything the history and the live generator need to know about the organisation."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.manifest = manifest
        self.platform_account = str(manifest.get("platform_account_id") or "123456789012")
        self.accounts: dict[str, Account] = {}
        for entry in sorted(manifest.get("accounts", []), key=lambda a: a["account_id"]):
            self.accounts[entry["account_id"]] = Account(
                account_id=entry["account_id"],
                name=entry["name"],
                kind=entry.get("kind", "owner"),
                regions=list(entry.get("regions") or [manifest.get("region", "eu-west-1")]),
                reader_role_arn=entry.get("role_arn"),
            )
        self.groups: list[FeatureGroupRef] = sorted(
            (
                FeatureGroupRef(arn=g["arn"], name=g["name"], account_id=g["account_id"], region=g["region"])
                for g in manifest.get("feature_groups", [])
            ),
            key=lambda g: g.arn,
        )
        self.group_by_arn = {g.arn: g for g in self.groups}
        self.domain_by_arn = {g["arn"]: g.get("domain", "") for g in manifest.get("feature_groups", [])}
        self.grants: list[Grant] = sorted(
            (
                Grant(
                    self.group_by_arn[a["arn"]],
                    str(a["consumer_account"]),
                    a["permission"],
                    a.get("resource_share_arn") or a.get("share_arn") or "",
                )
                for a in manifest.get("access", [])
                if a["arn"] in self.group_by_arn
            ),
            key=lambda g: (g.group.arn, g.consumer),
        )
        # RAM shares behind the grants (the seed's ``shares``): name, invitation, external.
        self.shares: dict[tuple[str, str], dict[str, Any]] = {
            (row["resource_arn"], row["consumer_account"]): row
            for row in manifest.get("shares", [])
            if row.get("resource_type", "").endswith("FeatureGroup")
        }
        self.discoverable: dict[tuple[str, str], set[str]] = {}
        for item in manifest.get("discoverable", []):
            key = (item["owner_account"], item["region"])
            self.discoverable.setdefault(key, set()).update(item.get("consumer_accounts", []))
        self.regions = sorted({g.region for g in self.groups} | {manifest.get("region", "eu-west-1")})
        self.platform = Principal(
            "AssumedRole",
            self.platform_account,
            "pantry-app",
            session="pantry-worker",
            user_agent=_ua(BOTO3_UA, "pantry"),
            source_ip=PANTRY_EGRESS_IP,
            label="Pantry (platform account)",
            session_hours=6,
        )
        self._principals()

    # ------------------------------------------------------------------ principals

    def _principals(self) -> None:
        granted = {g.consumer for g in self.grants}
        consumers = [a for a in self.accounts.values() if a.consumes and a.account_id in granted]
        for account in self.accounts.values():
            short = account.name
            seed = _hash(account.account_id)
            net = 10 + seed % 200
            people = random.Random(seed).sample(PEOPLE, 3)
            persona = "DataScientist" if account.consumes and not account.owns_groups else "FeatureEngineer"
            sso_suffix = f"{seed:016x}"[:16]
            account.humans = [
                Principal(
                    "AssumedRole",
                    account.account_id,
                    f"AWSReservedSSO_{persona}_{sso_suffix}",
                    session=f"{person}@{EMAIL_DOMAIN}",
                    path=f"/aws-reserved/sso.amazonaws.com/{account.regions[0]}/",
                    user_agent=_ua(BOTO3_UA, person) + " exec-env/AWS_SageMaker_Studio"
                    if i % 2 == 0
                    else _ua(CLI_UA, person, cmd="sagemaker.describe-feature-group"),
                    source_ip=f"192.0.2.{net + i}",
                    label=f"{person} ({persona}, {short})",
                    session_hours=8,
                )
                for i, person in enumerate(people)
            ]
            account.admin = Principal(
                "AssumedRole",
                account.account_id,
                f"AWSReservedSSO_AdministratorAccess_{sso_suffix[::-1]}",
                session=f"{people[0]}@{EMAIL_DOMAIN}",
                path=f"/aws-reserved/sso.amazonaws.com/{account.regions[0]}/",
                user_agent=_ua(CLI_UA, "admin" + short, cmd="ram.create-resource-share"),
                source_ip=f"192.0.2.{net}",
                label=f"{people[0]} (administrator, {short})",
                session_hours=8,
            )
            if account.consumes:
                account.pipeline = Principal(
                    "AssumedRole",
                    account.account_id,
                    f"{short}-scoring-service",
                    session=f"i-0{seed % 16**16:016x}",
                    user_agent=_ua(JAVA_UA, short),
                    source_ip=f"198.51.100.{net % 250 + 1}",
                    label=f"{short} scoring service (EC2 instance role)",
                )
                account.training = Principal(
                    "AssumedRole",
                    account.account_id,
                    f"{short}-sagemaker-execution",
                    session="SageMaker",
                    user_agent=_ua(BOTO3_UA, "train" + short) + " exec-env/AWS_SageMaker_Training",
                    source_ip=f"198.51.100.{(net + 7) % 250 + 1}",
                    label=f"{short} SageMaker training jobs",
                )
            if account.owns_groups:
                account.ingestion = Principal(
                    "AssumedRole",
                    account.account_id,
                    f"{short}-feature-ingestion",
                    session=f"ecs-task-{seed % 16**12:012x}",
                    user_agent=_ua(BOTO3_UA, "ingest" + short),
                    source_ip=f"198.51.100.{(net + 13) % 250 + 1}",
                    label=f"{short} feature ingestion pipeline (ECS task role)",
                )
            if account.reader_role_arn:
                role_name = account.reader_role_arn.rsplit("/", 1)[-1]
                account.pantry = Principal(
                    "AssumedRole",
                    account.account_id,
                    role_name,
                    session=PANTRY_SESSION_NAME,
                    user_agent=_ua(BOTO3_UA, "pantry"),
                    source_ip=PANTRY_EGRESS_IP,
                    label=f"Pantry ({role_name})",
                )
        # One consumer still uses a long-lived IAM user; another federates through a broker.
        if consumers:
            first = consumers[0]
            first.legacy_user = Principal(
                "IAMUser",
                first.account_id,
                f"svc-{first.name}-export",
                user_agent=_ua(BOTO3_UA, "legacy" + first.name),
                source_ip=f"198.51.100.{_hash(first.name) % 250 + 1}",
                label=f"legacy export job ({first.name}, IAM user)",
            )
        if len(consumers) > 1:
            second = consumers[1]
            person = random.Random(_hash(second.name, "fed")).choice(PEOPLE)
            second.federated = Principal(
                "FederatedUser",
                second.account_id,
                person.split(".")[0],
                issuer="federation-broker",
                user_agent=_ua(BOTO3_UA, "fed" + person),
                source_ip=f"192.0.2.{_hash(person) % 250 + 1}",
                label=f"{person} (federated through federation-broker, {second.name})",
                session_hours=12,
            )

    def sagemaker_service(self) -> Principal:
        return Principal(
            "AWSService", "", "sagemaker.amazonaws.com", label="Amazon SageMaker (offline store ingestion)"
        )

    # ------------------------------------------------------------------ who may do what

    def grant_for(self, consumer: str, group: FeatureGroupRef) -> Grant | None:
        return next((g for g in self.grants if g.consumer == consumer and g.group.arn == group.arn), None)

    def may(self, account_id: str, group: FeatureGroupRef, level: str = "ReadOnly") -> bool:
        if account_id == group.account_id:
            return True
        grant = self.grant_for(account_id, group)
        return grant is not None and LEVELS[grant.permission] >= LEVELS[level]

    def discoverable_owners(self, consumer: str) -> list[tuple[str, str]]:
        return sorted(key for key, consumers in self.discoverable.items() if consumer in consumers)

    def ungranted_visible_groups(self, consumer: str) -> list[FeatureGroupRef]:
        """Groups the consumer can find by Search but may not read: where denials come from."""
        owners = set(self.discoverable_owners(consumer))
        return [
            g
            for g in self.groups
            if (g.account_id, g.region) in owners and g.account_id != consumer and not self.may(consumer, g)
        ]

    def story(self) -> dict[str, Grant | None]:
        """The grants the demo points at: a dormant one and a read-write one used only to read."""
        by_consumer: dict[str, int] = {}
        for grant in self.grants:
            by_consumer[grant.consumer] = by_consumer.get(grant.consumer, 0) + 1
        read_only = [g for g in self.grants if g.permission == "ReadOnly"]
        dormant = next(
            (g for g in reversed(read_only) if by_consumer[g.consumer] > 1), read_only[-1] if read_only else None
        )
        writers = [g for g in self.grants if g.permission == "ReadWrite"] or [g for g in self.grants if g.can_write]
        return {"dormant": dormant, "read_only_in_practice": writers[0] if writers else None}

    def members(self) -> list[str]:
        return sorted(self.accounts)

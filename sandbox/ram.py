"""AWS Resource Access Manager for SageMaker Feature Store, in moto's style.

moto 5.2.5's RAM backend keeps a list of shares per account and little else (no invitations, no
cross-account view, no SageMaker resource types). This module replaces it: :class:`RamBackend`
subclasses moto's ``ResourceAccessManagerBackend`` and :class:`RamResponse` its response class
(registered in :mod:`sandbox.extensions`). Shares, invitations and idempotency tokens live in one
module-level :class:`RamWorld`, because RAM is cross-account by nature: an invitation created in
the owner's account is read and accepted from the receiver's, and the SageMaker extension asks
"may account X call DescribeFeatureGroup on this ARN?" (:func:`feature_group_actions`).

What follows AWS's documentation (RAM API reference and user guide, SageMaker Developer Guide
"Cross account feature group discoverability and access"):

* Two shareable SageMaker resource types: ``sagemaker:FeatureGroup``
  (``arn:aws:sagemaker:REGION:ACCOUNT:feature-group/NAME``) and ``sagemaker:SagemakerCatalog``
  (``arn:aws:sagemaker:REGION:ACCOUNT:sagemaker-catalog/DefaultFeatureGroupCatalog``), each with
  its AWS managed permissions (``arn:aws:ram::aws:permission/NAME``, version 1).
* Principals inside the owner's organisation get access at once when the organisation has
  sharing with AWS Organizations enabled; anyone else gets an invitation that expires after
  12 hours for SageMaker resource types (seven days only for the older types the user guide
  lists); PENDING → ACCEPTED | REJECTED | EXPIRED; only the receiving account may answer.
* ``clientToken``: same token and parameters → the first response again; other parameters →
  ``IdempotentParameterMismatchException``.
* Errors are RAM's codes in the REST-JSON error format; quotas from the user guide's
  "Service quotas" page; ``maxResults`` 1–500 and opaque ``nextToken`` values.

Sandbox choices where AWS documents nothing are listed in ``docs/sandbox.md``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.ram import models as ram_models
from moto.ram import urls as ram_urls
from moto.ram.responses import ResourceAccessManagerResponse
from moto.ram.utils import AWS_MANAGED_PERMISSIONS, RAM_RESOURCE_TYPES

from . import clock
from . import organizations_ext as orgs

FEATURE_GROUP = "sagemaker:FeatureGroup"
CATALOG = "sagemaker:SagemakerCatalog"
CATALOG_NAME = "DefaultFeatureGroupCatalog"
PERMISSION_ARN_PREFIX = "arn:aws:ram::aws:permission/"

# --------------------------------------------------------------------------- managed permissions

# Actions per the SageMaker Developer Guide, "Enabling cross account access". Each level
# includes the one below it.
READ_ONLY_ACTIONS = (
    "sagemaker:DescribeFeatureGroup",
    "sagemaker:DescribeFeatureMetadata",
    "sagemaker:GetRecord",
    "sagemaker:BatchGetRecord",
)
READ_WRITE_ACTIONS = READ_ONLY_ACTIONS + ("sagemaker:PutRecord", "sagemaker:DeleteRecord")
ADMIN_ACTIONS = READ_WRITE_ACTIONS + ("sagemaker:UpdateFeatureGroup", "sagemaker:UpdateFeatureMetadata")
CATALOG_ACTIONS = ("sagemaker:Search",)

_SAGEMAKER_PERMISSIONS_CREATED = dt.datetime(2023, 10, 25, 17, 12, 7, 316000, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ManagedPermission:
    name: str
    resource_type: str
    is_resource_type_default: bool
    created: dt.datetime
    # None: the sandbox does not know the policy template (types it cannot share).
    actions: tuple[str, ...] | None = None
    version: str = "1"

    @property
    def arn(self) -> str:
        return PERMISSION_ARN_PREFIX + self.name

    def summary(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "version": self.version,
            "defaultVersion": True,
            "name": self.name,
            "resourceType": self.resource_type,
            "status": "ATTACHABLE",
            "creationTime": _epoch(self.created),
            "lastUpdatedTime": _epoch(self.created),
            "isResourceTypeDefault": self.is_resource_type_default,
            "permissionType": "AWS_MANAGED",
            "featureSet": "STANDARD",
        }

    def detail(self) -> dict[str, Any]:
        out = self.summary()
        out["permissionTemplateParameters"] = []
        out["tags"] = []
        if self.actions is not None:
            out["permission"] = json.dumps({"Effect": "Allow", "Action": list(self.actions)})
        return out


# AWS's own documentation spells these names with inconsistent case ("SageMaker" vs
# "Sagemaker"); the sandbox returns them exactly as the SageMaker Developer Guide's permission
# table does, so clients must resolve permissions with ListPermissions instead of hard-coding.
SAGEMAKER_PERMISSIONS = (
    ManagedPermission(
        "AWSRAMPermissionSageMakerCatalogResourceSearch", CATALOG, True, _SAGEMAKER_PERMISSIONS_CREATED, CATALOG_ACTIONS
    ),
    ManagedPermission(
        "AWSRAMPermissionSageMakerFeatureGroupReadOnly",
        FEATURE_GROUP,
        True,
        _SAGEMAKER_PERMISSIONS_CREATED,
        READ_ONLY_ACTIONS,
    ),
    ManagedPermission(
        "AWSRAMPermissionSagemakerFeatureGroupReadWrite",
        FEATURE_GROUP,
        False,
        _SAGEMAKER_PERMISSIONS_CREATED,
        READ_WRITE_ACTIONS,
    ),
    ManagedPermission(
        "AWSRAMPermissionSagemakerFeatureGroupAdmin",
        FEATURE_GROUP,
        False,
        _SAGEMAKER_PERMISSIONS_CREATED,
        ADMIN_ACTIONS,
    ),
)


def _moto_permission(raw: dict[str, Any]) -> ManagedPermission:
    created = dt.datetime.fromisoformat(raw["creationTime"]).replace(tzinfo=dt.UTC)
    return ManagedPermission(raw["name"], raw["resourceType"], bool(raw["isResourceTypeDefault"]), created)


PERMISSIONS: dict[str, ManagedPermission] = {
    p.arn: p for p in [*SAGEMAKER_PERMISSIONS, *(_moto_permission(raw) for raw in AWS_MANAGED_PERMISSIONS)]
}

RESOURCE_TYPES: list[dict[str, str]] = sorted(
    [dict(t) for t in RAM_RESOURCE_TYPES]
    + [
        {"resourceType": FEATURE_GROUP, "serviceName": "sagemaker", "resourceRegionScope": "REGIONAL"},
        {"resourceType": CATALOG, "serviceName": "sagemaker", "resourceRegionScope": "REGIONAL"},
    ],
    key=lambda t: t["resourceType"].lower(),
)
# Resource types the sandbox can actually put in a share.
SHAREABLE_TYPES = (FEATURE_GROUP, CATALOG)

# RAM user guide, "Creating a resource share": invitations for these types may be accepted for
# seven days; for every other type (SageMaker's included) they expire after 12 hours.
SEVEN_DAY_INVITATION_TYPES = frozenset(
    {
        "rds:Cluster",
        "ec2:CapacityReservation",
        "ec2:DedicatedHost",
        "license-manager:LicenseConfiguration",
        "ec2:LocalGatewayRouteTable",
        "outposts:Outpost",
        "outposts:Site",
        "route53resolver:ResolverRule",
        "ec2:CoipPool",
        "ec2:PrefixList",
        "ec2:Subnet",
        "ec2:TrafficMirrorTarget",
        "ec2:TransitGateway",
        "ec2:TransitGatewayMulticastDomain",
    }
)
INVITATION_LIFETIME = dt.timedelta(hours=12)
SEVEN_DAY_INVITATION_LIFETIME = dt.timedelta(days=7)

# RAM user guide, "Service quotas for AWS RAM".
MAX_SHARES_PER_REGION = 25_000
MAX_RESOURCES_PER_SHARE = 5_000
MAX_PRINCIPALS_PER_SHARE = 5_000
MAX_PENDING_INVITATIONS_PER_SENDER = 20
MAX_TAGS = 50
MAX_RESULTS = 500
DEFAULT_MAX_RESULTS = 50
MAX_CLIENT_TOKEN_LENGTH = 64

# --------------------------------------------------------------------------- errors


class RamError(JsonRESTError):
    code = 400
    error_code = "InvalidParameterException"

    def __init__(self, message: str) -> None:
        # JsonRESTError answers with RAM's wire format: the code in the X-Amzn-ErrorType header
        # and {"__type", "message"} in the body.
        super().__init__(self.error_code, message)


def _error(name: str, status: int = 400) -> type[RamError]:
    return type(name, (RamError,), {"error_code": name, "code": status})


InvalidParameterException = _error("InvalidParameterException")
MalformedArnException = _error("MalformedArnException")
UnknownResourceException = _error("UnknownResourceException")
OperationNotPermittedException = _error("OperationNotPermittedException")
InvalidStateTransitionException = _error("InvalidStateTransitionException")
IdempotentParameterMismatchException = _error("IdempotentParameterMismatchException")
InvalidClientTokenException = _error("InvalidClientTokenException")
InvalidNextTokenException = _error("InvalidNextTokenException")
InvalidMaxResultsException = _error("InvalidMaxResultsException")
InvalidResourceTypeException = _error("InvalidResourceTypeException")
ResourceShareLimitExceededException = _error("ResourceShareLimitExceededException")
TagLimitExceededException = _error("TagLimitExceededException")
# "The operation failed because the specified tag key is a reserved word and can't be used."
TagPolicyViolationException = _error("TagPolicyViolationException")
MissingRequiredParameterException = _error("MissingRequiredParameterException")
ResourceShareInvitationArnNotFoundException = _error("ResourceShareInvitationArnNotFoundException")
ResourceShareInvitationAlreadyAcceptedException = _error("ResourceShareInvitationAlreadyAcceptedException")
ResourceShareInvitationAlreadyRejectedException = _error("ResourceShareInvitationAlreadyRejectedException")
ResourceShareInvitationExpiredException = _error("ResourceShareInvitationExpiredException")

# --------------------------------------------------------------------------- ARNs and principals

_SHARE_ARN_RE = re.compile(r"^arn:aws:ram:([a-z0-9-]+):(\d{12}):resource-share/([0-9a-f-]{36})$")
_INVITATION_ARN_RE = re.compile(r"^arn:aws:ram:([a-z0-9-]+):(\d{12}):resource-share-invitation/([0-9a-f-]{36})$")
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+$")
_FG_ARN_RE = re.compile(
    r"^arn:aws:sagemaker:([a-z0-9-]+):(\d{12}):feature-group/([a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63})$"
)
_CATALOG_ARN_RE = re.compile(r"^arn:aws:sagemaker:([a-z0-9-]+):(\d{12}):sagemaker-catalog/(.+)$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ORG_ARN_RE = re.compile(r"^arn:aws:organizations::(\d{12}):organization/(o-[a-z0-9]{10,32})$")
_OU_ARN_RE = re.compile(r"^arn:aws:organizations::(\d{12}):ou/(o-[a-z0-9]{10,32})/(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})$")
_IAM_PRINCIPAL_RE = re.compile(r"^arn:aws:iam::(\d{12}):(role|user)/.+$")

ACCOUNT, ORGANIZATION, OU = "ACCOUNT", "ORGANIZATION", "ORGANIZATIONAL_UNIT"


def _epoch(value: dt.datetime) -> float:
    return round(value.timestamp(), 3)


def resource_type_of(arn: str) -> str | None:
    if _FG_ARN_RE.match(arn):
        return FEATURE_GROUP
    if _CATALOG_ARN_RE.match(arn):
        return CATALOG
    return None


def _principal_kind(principal: str) -> str:
    if _ACCOUNT_RE.match(principal):
        return ACCOUNT
    if _ORG_ARN_RE.match(principal):
        return ORGANIZATION
    if _OU_ARN_RE.match(principal):
        return OU
    if _IAM_PRINCIPAL_RE.match(principal):
        raise InvalidParameterException(
            f"Principal {principal} is an IAM role or user. The sandbox shares SageMaker resources "
            "with AWS accounts, organizations and organizational units only."
        )
    raise InvalidParameterException(f"Principal ID {principal} is malformed. Verify the ID and try again.")


def _check_arn(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise MalformedArnException(f"The specified {what} ARN {value} is not valid. Verify the ARN and try again.")
    return value


# --------------------------------------------------------------------------- models


@dataclass
class Association:
    entity: str
    kind: str  # RESOURCE | PRINCIPAL
    status: str
    created: dt.datetime
    updated: dt.datetime
    external: bool = False
    status_message: str | None = None
    # PRINCIPAL only: how access is granted -- SELF (the owner), ORG (member of the owner's
    # organisation with sharing enabled), INVITATION, or ORG_PRINCIPAL (organisation / OU).
    via: str | None = None
    resource_type: str | None = None

    def describe(self, share: ResourceShare, status: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resourceShareArn": share.arn,
            "resourceShareName": share.name,
            "associatedEntity": self.entity,
            "associationType": self.kind,
            "status": status or self.status,
            "creationTime": _epoch(self.created),
            "lastUpdatedTime": _epoch(self.updated),
            "external": self.external,
        }
        if self.status_message and status is None:
            out["statusMessage"] = self.status_message
        return out


@dataclass
class Invitation:
    arn: str
    share: ResourceShare
    receiver: str
    sent: dt.datetime
    expires: dt.datetime
    status: str = "PENDING"
    answered: dt.datetime | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "resourceShareInvitationArn": self.arn,
            "resourceShareName": self.share.name,
            "resourceShareArn": self.share.arn,
            "senderAccountId": self.share.owner,
            "receiverAccountId": self.receiver,
            "invitationTimestamp": _epoch(self.sent),
            "status": self.status,
        }


@dataclass
class ResourceShare:
    arn: str
    name: str
    owner: str
    region: str
    allow_external: bool
    created: dt.datetime
    updated: dt.datetime
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "ACTIVE"
    resources: dict[str, Association] = field(default_factory=dict)
    principals: dict[str, Association] = field(default_factory=dict)
    permissions: dict[str, ManagedPermission] = field(default_factory=dict)
    invitations: list[Invitation] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "resourceShareArn": self.arn,
            "name": self.name,
            "owningAccountId": self.owner,
            "allowExternalPrincipals": self.allow_external,
            "status": self.status,
            "tags": [dict(t) for t in self.tags],
            "creationTime": _epoch(self.created),
            "lastUpdatedTime": _epoch(self.updated),
            "featureSet": "STANDARD",
        }

    def live_resources(self, resource_type: str | None = None) -> list[Association]:
        return [
            a
            for a in self.resources.values()
            if a.status == "ASSOCIATED" and (resource_type is None or a.resource_type == resource_type)
        ]

    def pending_invitation(self, receiver: str) -> Invitation | None:
        for invitation in self.invitations:
            if invitation.receiver == receiver and invitation.status == "PENDING":
                return invitation
        return None


class RamWorld:
    """Every share, invitation and idempotency token, across accounts and regions."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.shares: dict[str, ResourceShare] = {}
            self.invitations: dict[str, Invitation] = {}
            self.org_sharing: set[str] = set()
            self.tokens: dict[tuple[str, str, str, str], tuple[str, dict[str, Any]]] = {}

    # -------------------------------------------------------------- time
    def sweep(self, now: dt.datetime) -> None:
        """Expire pending invitations whose time is up (RAM does this on its own clock)."""
        for invitation in self.invitations.values():
            if invitation.status == "PENDING" and now >= invitation.expires:
                invitation.status = "EXPIRED"
                invitation.answered = invitation.expires
                assoc = invitation.share.principals.get(invitation.receiver)
                if assoc is not None and assoc.via == "INVITATION" and assoc.status == "ASSOCIATING":
                    assoc.status = "DISASSOCIATED"
                    assoc.updated = invitation.expires
                    assoc.status_message = "The invitation expired before the principal accepted it."

    # -------------------------------------------------------------- membership
    def grants(self, share: ResourceShare, account_id: str) -> bool:
        """Whether ``account_id`` has the share's access now (owner, member, or accepted)."""
        if share.status != "ACTIVE":
            return False
        if account_id == share.owner:
            return True
        organization = orgs.organization_of(share.owner)
        sharing = organization is not None and organization.id in self.org_sharing
        for principal, assoc in share.principals.items():
            if assoc.status != "ASSOCIATED":
                continue
            kind = _principal_kind(principal)
            if kind == ACCOUNT and principal == account_id:
                if assoc.via == "ORG" and not (sharing and orgs.is_member(account_id, organization)):
                    continue  # the account left the organisation
                return True
            if kind in (ORGANIZATION, OU) and sharing and orgs.is_member(account_id, organization):
                if kind == ORGANIZATION:
                    return True
                ou_id = _OU_ARN_RE.match(principal).group(3)  # type: ignore[union-attr]
                if account_id in orgs.accounts_under(organization, ou_id):
                    return True
        return False

    def visible_to_receiver(self, share: ResourceShare, account_id: str) -> bool:
        return share.owner != account_id and (
            self.grants(share, account_id) or share.pending_invitation(account_id) is not None
        )


WORLD = RamWorld()


def reset_world() -> None:
    WORLD.reset()


# --------------------------------------------------------------------------- cross-account effect


def _sagemaker_resource_exists(arn: str) -> bool:
    match = _FG_ARN_RE.match(arn)
    if match:
        from moto.sagemaker.models import sagemaker_backends

        region, account, _ = match.group(1), match.group(2), match.group(3)
        return arn in sagemaker_backends[account][region].feature_groups
    match = _CATALOG_ARN_RE.match(arn)
    return bool(match and match.group(3) == CATALOG_NAME)


def feature_group_actions(arn: str, account_id: str) -> set[str]:
    """The SageMaker actions ``account_id`` may call on feature group ``arn`` through RAM."""
    match = _FG_ARN_RE.match(arn)
    if not match:
        return set()
    region, owner = match.group(1), match.group(2)
    allowed: set[str] = set()
    with WORLD.lock:
        WORLD.sweep(clock.now())
        for share in WORLD.shares.values():
            if share.owner != owner or share.region != region or share.status != "ACTIVE":
                continue
            assoc = share.resources.get(arn)
            permission = share.permissions.get(FEATURE_GROUP)
            if assoc is None or assoc.status != "ASSOCIATED" or permission is None or permission.actions is None:
                continue
            if WORLD.grants(share, account_id):
                allowed.update(permission.actions)
    return allowed


def catalog_owners(account_id: str, region: str) -> list[str]:
    """Owner accounts whose feature group catalog in ``region`` ``account_id`` may search."""
    owners: set[str] = set()
    with WORLD.lock:
        WORLD.sweep(clock.now())
        for share in WORLD.shares.values():
            if share.region != region or share.status != "ACTIVE" or share.owner == account_id:
                continue
            catalog_arn = f"arn:aws:sagemaker:{region}:{share.owner}:sagemaker-catalog/{CATALOG_NAME}"
            assoc = share.resources.get(catalog_arn)
            permission = share.permissions.get(CATALOG)
            if assoc is None or assoc.status != "ASSOCIATED" or permission is None:
                continue
            if "sagemaker:Search" in (permission.actions or ()) and WORLD.grants(share, account_id):
                owners.add(share.owner)
    return sorted(owners)


def effective_grants() -> dict[str, Any]:
    """Every cross-account grant in effect now, for the control plane's snapshot."""
    catalogs: dict[tuple[str, str], set[str]] = {}
    groups: dict[str, dict[str, str]] = {}
    accounts = _known_accounts()
    with WORLD.lock:
        WORLD.sweep(clock.now())
        for share in WORLD.shares.values():
            if share.status != "ACTIVE":
                continue
            consumers = [a for a in accounts if a != share.owner and WORLD.grants(share, a)]
            if not consumers:
                continue
            for assoc in share.live_resources():
                if assoc.resource_type == CATALOG and CATALOG in share.permissions:
                    catalogs.setdefault((share.owner, share.region), set()).update(consumers)
                elif assoc.resource_type == FEATURE_GROUP and FEATURE_GROUP in share.permissions:
                    level = level_of(share.permissions[FEATURE_GROUP])
                    for consumer in consumers:
                        current = groups.setdefault(assoc.entity, {}).get(consumer)
                        if current is None or LEVELS[level] > LEVELS[current]:
                            groups[assoc.entity][consumer] = level
    return {
        "discoverable": [
            {"owner_account": o, "region": r, "consumer_accounts": sorted(c)} for (o, r), c in sorted(catalogs.items())
        ],
        "feature_group_access": groups,
    }


def _known_accounts() -> set[str]:
    """Accounts that could hold a grant: share principals, invitation receivers, org members."""
    found: set[str] = set()
    with WORLD.lock:
        for share in WORLD.shares.values():
            found.add(share.owner)
            for principal in share.principals:
                if _ACCOUNT_RE.match(principal):
                    found.add(principal)
                else:
                    organization = orgs.organization_of(share.owner)
                    if organization is not None:
                        found.update(orgs.accounts_under(organization, organization.root_id))
    return found


READ_ONLY, READ_WRITE, ADMIN = "ReadOnly", "ReadWrite", "Admin"
LEVELS = {READ_ONLY: 1, READ_WRITE: 2, ADMIN: 3}


def level_of(permission: ManagedPermission) -> str:
    actions = set(permission.actions or ())
    if set(ADMIN_ACTIONS) <= actions:
        return ADMIN
    if set(READ_WRITE_ACTIONS) <= actions:
        return READ_WRITE
    return READ_ONLY


def permission_for_level(level: str) -> ManagedPermission:
    wanted = {READ_ONLY: READ_ONLY_ACTIONS, READ_WRITE: READ_WRITE_ACTIONS, ADMIN: ADMIN_ACTIONS}[level]
    for permission in SAGEMAKER_PERMISSIONS:
        if permission.resource_type == FEATURE_GROUP and permission.actions == wanted:
            return permission
    raise KeyError(level)


def catalog_permission() -> ManagedPermission:
    return next(p for p in SAGEMAKER_PERMISSIONS if p.resource_type == CATALOG)


# --------------------------------------------------------------------------- paging


def _max_results(params: dict[str, Any], error: type[RamError] = InvalidParameterException) -> int:
    value = params.get("maxResults")
    if value is None:
        return DEFAULT_MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"1 validation error detected: Value '{value}' at 'maxResults' must be an integer.")
    if value < 1 or value > MAX_RESULTS:
        bound = "greater than or equal to 1" if value < 1 else f"less than or equal to {MAX_RESULTS}"
        raise error(
            f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value {bound}"
        )
    return value


def _page(
    items: list[Any],
    params: dict[str, Any],
    scope: Iterable[Any],
    max_error: type[RamError] = InvalidParameterException,
) -> tuple[list[Any], str | None]:
    size = _max_results(params, max_error)
    fingerprint = hashlib.sha256(json.dumps(list(scope), sort_keys=True, default=str).encode()).hexdigest()[:16]
    token = params.get("nextToken")
    start = 0
    if token is not None:
        try:
            data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            if data["s"] != fingerprint:
                raise ValueError("scope")
            start = int(data["o"])
            if start < 0:
                raise ValueError("offset")
        except Exception:  # noqa: BLE001 -- any token we did not issue for this query
            raise InvalidNextTokenException("The specified value for NextToken is not valid.") from None
    end = start + size
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"o": end, "s": fingerprint}).encode()).decode()
    return items[start:end], next_token


# --------------------------------------------------------------------------- parameter helpers


def _str(params: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise MissingRequiredParameterException(f"The request is missing the required parameter {key}.")
        return None
    if not isinstance(value, str):
        raise InvalidParameterException(f"The value for {key} must be a string.")
    if required and not value:
        raise InvalidParameterException(f"The value for {key} must not be empty.")
    return value


def _strs(params: dict[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterException(f"The value for {key} must be a list of strings.")
    seen: list[str] = []
    for v in value:
        if v not in seen:
            seen.append(v)
    return seen


def _bool(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidParameterException(f"The value for {key} must be a boolean.")
    return value


def _enum(params: dict[str, Any], key: str, allowed: Iterable[str], required: bool = False) -> str | None:
    value = _str(params, key, required=required)
    if value is None:
        return None
    allowed = list(allowed)
    if value not in allowed:
        raise InvalidParameterException(
            f"1 validation error detected: Value '{value}' at '{key}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return value


def _tags(params: dict[str, Any], key: str = "tags") -> list[dict[str, str]]:
    value = params.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParameterException("The value for tags must be a list of key-value pairs.")
    merged: dict[str, str] = {}
    for tag in value:
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
            raise InvalidParameterException("Each tag must have a key.")
        tag_key, tag_value = tag["key"], tag.get("value", "")
        if not isinstance(tag_value, str):
            raise InvalidParameterException("Tag values must be strings.")
        if not 1 <= len(tag_key) <= 128 or len(tag_value) > 256:
            raise InvalidParameterException("Tag keys must be 1-128 characters and values at most 256 characters.")
        if tag_key.lower().startswith("aws:"):
            raise TagPolicyViolationException(
                f"Invalid tag key '{tag_key}': tag keys starting with 'aws:' are reserved for use by AWS."
            )
        merged[tag_key] = tag_value
    if len(merged) > MAX_TAGS:
        raise TagLimitExceededException(f"A resource share can have at most {MAX_TAGS} tags.")
    return [{"key": k, "value": v} for k, v in merged.items()]


def _client_token(params: dict[str, Any]) -> str | None:
    token = params.get("clientToken")
    if token is None:
        return None
    if (
        not isinstance(token, str)
        or not token
        or len(token) > MAX_CLIENT_TOKEN_LENGTH
        or not all(32 < ord(ch) < 127 for ch in token)
    ):
        raise InvalidClientTokenException(
            f"The client token must be 1-{MAX_CLIENT_TOKEN_LENGTH} printable ASCII characters without spaces."
        )
    return token


# --------------------------------------------------------------------------- backend


class RamBackend(ram_models.ResourceAccessManagerBackend):
    """The operations, one method each, taking the request's JSON parameters."""

    # ------------------------------------------------------------------ helpers
    def _now(self) -> dt.datetime:
        now = clock.now()
        WORLD.sweep(now)
        return now

    def _idempotent(self, operation: str, params: dict[str, Any], run: Callable[[str], dict[str, Any]]) -> dict:
        """Run ``run(token)`` once per clientToken; replay or refuse later calls with the token."""
        token = _client_token(params)
        if token is None:
            return run(str(uuid.uuid4()))
        key = (self.account_id, self.region_name, operation, token)
        fingerprint = json.dumps({k: v for k, v in params.items() if k != "clientToken"}, sort_keys=True)
        stored = WORLD.tokens.get(key)
        if stored is not None:
            if stored[0] != fingerprint:
                raise IdempotentParameterMismatchException(
                    f"The client token {token} was already used with different parameters for {operation}."
                )
            return copy.deepcopy(stored[1])
        result = run(token)
        WORLD.tokens[key] = (fingerprint, copy.deepcopy(result))
        return result

    def _owned_share(self, arn: str | None) -> ResourceShare:
        _check_arn(arn or "", _SHARE_ARN_RE, "resource share")
        share = WORLD.shares.get(arn or "")
        if share is None or share.owner != self.account_id or share.region != self.region_name:
            raise UnknownResourceException(f"ResourceShare {arn} could not be found.")
        return share

    def _active_owned_share(self, arn: str | None) -> ResourceShare:
        share = self._owned_share(arn)
        if share.status != "ACTIVE":
            raise InvalidStateTransitionException(f"ResourceShare {arn} is {share.status} and cannot be changed.")
        return share

    def _permission(self, arn: str) -> ManagedPermission:
        _check_arn(arn, re.compile(r"^arn:aws:ram:[a-z0-9-]*:(aws|\d{12}):permission/.+$"), "permission")
        permission = PERMISSIONS.get(arn)
        if permission is None:
            raise UnknownResourceException(f"Permission {arn} could not be found.")
        return permission

    def _validate_resource(self, arn: str) -> str:
        arn = self._canonical_resource(arn)
        if not isinstance(arn, str) or not _ARN_RE.match(arn):
            raise MalformedArnException(f"The specified resource ARN {arn} is not valid. Verify the ARN and try again.")
        resource_type = resource_type_of(arn)
        if resource_type is None:
            raise UnknownResourceException(
                f"Resource {arn} could not be found. The sandbox can share SageMaker feature groups and the "
                "SageMaker feature group catalog."
            )
        match = (_FG_ARN_RE if resource_type == FEATURE_GROUP else _CATALOG_ARN_RE).match(arn)
        region, account = match.group(1), match.group(2)  # type: ignore[union-attr]
        if account != self.account_id or region != self.region_name or not _sagemaker_resource_exists(arn):
            raise UnknownResourceException(f"Resource {arn} could not be found.")
        return resource_type

    def _canonical_resource(self, arn: str) -> str:
        match = _FG_ARN_RE.match(arn) if isinstance(arn, str) else None
        if match:  # SageMaker feature group ARNs carry the name in lower case
            return f"arn:aws:sagemaker:{match.group(1)}:{match.group(2)}:feature-group/{match.group(3).lower()}"
        return arn

    def _check_principal(self, share: ResourceShare, principal: str) -> str:
        kind = _principal_kind(principal)
        if kind in (ORGANIZATION, OU):
            organization = orgs.organization_of(self.account_id)
            match = (_ORG_ARN_RE if kind == ORGANIZATION else _OU_ARN_RE).match(principal)
            org_id = match.group(2)  # type: ignore[union-attr]
            if organization is None or organization.id != org_id:
                raise UnknownResourceException(
                    f"Organization {org_id} could not be found. You can share only with your own organization."
                )
            if kind == OU and orgs.ou_by_arn(organization, principal) is None:
                raise UnknownResourceException(f"OrganizationalUnit {principal} could not be found.")
            if kind == ORGANIZATION and principal != organization.arn:
                raise UnknownResourceException(f"Organization {principal} could not be found.")
            if organization.id not in WORLD.org_sharing:
                raise OperationNotPermittedException(
                    "You cannot share with an organization or organizational unit because sharing with "
                    "AWS Organizations is not enabled. Call EnableSharingWithAwsOrganization from the "
                    "management account first."
                )
        elif kind == ACCOUNT and principal != self.account_id and not share.allow_external:
            organization = orgs.organization_of(self.account_id)
            if organization is not None and not orgs.is_member(principal, organization):
                raise OperationNotPermittedException(
                    f"The resource share {share.arn} does not allow principals outside your organization, "
                    f"and {principal} is not a member of it."
                )
        return kind

    def _invitation_lifetime(self, share: ResourceShare) -> dt.timedelta:
        types = {a.resource_type for a in share.live_resources()}
        if types and types <= SEVEN_DAY_INVITATION_TYPES:
            return SEVEN_DAY_INVITATION_LIFETIME
        return INVITATION_LIFETIME

    def _add_resources(self, share: ResourceShare, arns: list[str], now: dt.datetime) -> list[Association]:
        wanted = [(self._canonical_resource(a), self._validate_resource(a)) for a in arns]
        new = [a for a, _ in wanted if a not in share.resources or share.resources[a].status != "ASSOCIATED"]
        if len(share.live_resources()) + len(new) > MAX_RESOURCES_PER_SHARE:
            raise ResourceShareLimitExceededException(
                f"A resource share can have at most {MAX_RESOURCES_PER_SHARE} resource associations."
            )
        out = []
        for arn, resource_type in wanted:
            assoc = share.resources.get(arn)
            if assoc is None:
                assoc = Association(arn, "RESOURCE", "ASSOCIATED", now, now, resource_type=resource_type)
                share.resources[arn] = assoc
            elif assoc.status != "ASSOCIATED":
                assoc.status, assoc.updated, assoc.status_message = "ASSOCIATED", now, None
            if resource_type not in share.permissions:
                share.permissions[resource_type] = next(
                    p for p in PERMISSIONS.values() if p.resource_type == resource_type and p.is_resource_type_default
                )
            out.append(assoc)
        return out

    def _add_principals(self, share: ResourceShare, principals: list[str], now: dt.datetime) -> list[Association]:
        kinds = {p: self._check_principal(share, p) for p in principals}
        new = [p for p in principals if p not in share.principals or share.principals[p].status == "DISASSOCIATED"]
        live = [a for a in share.principals.values() if a.status != "DISASSOCIATED"]
        if len(live) + len(new) > MAX_PRINCIPALS_PER_SHARE:
            raise ResourceShareLimitExceededException(
                f"A resource share can have at most {MAX_PRINCIPALS_PER_SHARE} principal associations."
            )
        organization = orgs.organization_of(self.account_id)
        sharing = organization is not None and organization.id in WORLD.org_sharing
        invitees = [
            p
            for p in new
            if kinds[p] == ACCOUNT and p != self.account_id and not (sharing and orgs.is_member(p, organization))
        ]
        pending = sum(
            1
            for i in WORLD.invitations.values()
            if i.status == "PENDING" and i.share.owner == self.account_id and i.share.region == self.region_name
        )
        if invitees and pending + len(invitees) > MAX_PENDING_INVITATIONS_PER_SENDER:
            raise ResourceShareLimitExceededException(
                f"An account can have at most {MAX_PENDING_INVITATIONS_PER_SENDER} pending resource share "
                "invitations at a time in a Region. Wait for receivers to respond, or share through AWS Organizations."
            )
        out = []
        for principal in principals:
            assoc = share.principals.get(principal)
            if assoc is not None and assoc.status != "DISASSOCIATED":
                out.append(assoc)
                continue
            external = kinds[principal] == ACCOUNT and not (
                principal == self.account_id or (organization is not None and orgs.is_member(principal, organization))
            )
            if kinds[principal] in (ORGANIZATION, OU):
                status, via = "ASSOCIATED", "ORG_PRINCIPAL"
            elif principal == self.account_id:
                status, via = "ASSOCIATED", "SELF"
            elif principal in invitees:
                status, via = "ASSOCIATING", "INVITATION"
            else:
                status, via = "ASSOCIATED", "ORG"
            if assoc is None:
                assoc = Association(principal, "PRINCIPAL", status, now, now, external=external, via=via)
                share.principals[principal] = assoc
            else:
                assoc.status, assoc.updated, assoc.via, assoc.external = status, now, via, external
                assoc.status_message = None
            if via == "INVITATION":
                invitation = Invitation(
                    arn=f"arn:aws:ram:{self.region_name}:{self.account_id}:resource-share-invitation/{uuid.uuid4()}",
                    share=share,
                    receiver=principal,
                    sent=now,
                    expires=now + self._invitation_lifetime(share),
                )
                share.invitations.append(invitation)
                WORLD.invitations[invitation.arn] = invitation
            out.append(assoc)
        return out

    def _drop_pending_invitations(self, share: ResourceShare, receiver: str | None = None) -> None:
        for invitation in list(share.invitations):
            if invitation.status == "PENDING" and receiver in (None, invitation.receiver):
                share.invitations.remove(invitation)
                WORLD.invitations.pop(invitation.arn, None)

    # ------------------------------------------------------------------ shares
    def create_resource_share(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _str(params, "name", required=True)
        resource_arns = _strs(params, "resourceArns")
        principals = _strs(params, "principals")
        permission_arns = _strs(params, "permissionArns")
        allow_external = _bool(params, "allowExternalPrincipals", True)
        tags = _tags(params)
        if _strs(params, "sources"):
            raise InvalidParameterException("Sources apply to service principals, which the sandbox does not model.")

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            owned = [
                s
                for s in WORLD.shares.values()
                if s.owner == self.account_id and s.region == self.region_name and s.status != "DELETED"
            ]
            if len(owned) >= MAX_SHARES_PER_REGION:
                raise ResourceShareLimitExceededException(
                    f"An account can have at most {MAX_SHARES_PER_REGION} resource shares in a Region."
                )
            share = ResourceShare(
                arn=f"arn:aws:ram:{self.region_name}:{self.account_id}:resource-share/{uuid.uuid4()}",
                name=name or "",
                owner=self.account_id,
                region=self.region_name,
                allow_external=allow_external,
                created=now,
                updated=now,
                tags=tags,
            )
            permissions: dict[str, ManagedPermission] = {}
            for arn in permission_arns:
                permission = self._permission(arn)
                if permission.resource_type in permissions:
                    raise InvalidParameterException(
                        f"You can associate only one permission with each resource type; "
                        f"{permission.resource_type} was given more than one."
                    )
                if permission.resource_type not in SHAREABLE_TYPES:
                    raise InvalidParameterException(
                        f"Permission {arn} applies to {permission.resource_type}, which the sandbox cannot share."
                    )
                permissions[permission.resource_type] = permission
            share.permissions.update(permissions)
            # Validate everything before anything becomes visible: a failed call leaves no share.
            self._add_resources(share, resource_arns, now)
            self._add_principals(share, principals, now)
            WORLD.shares[share.arn] = share
            return {"resourceShare": share.describe(), "clientToken": token}

        with WORLD.lock:
            try:
                return self._idempotent("CreateResourceShare", params, run)
            except RamError:
                self._forget_partial()
                raise

    def _forget_partial(self) -> None:
        # Invitations are registered while principals are added; a share that failed validation
        # afterwards was never stored, so drop invitations that point at unknown shares.
        for arn, invitation in list(WORLD.invitations.items()):
            if invitation.share.arn not in WORLD.shares:
                WORLD.invitations.pop(arn, None)

    def update_resource_share(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)
        name = _str(params, "name")
        allow = params.get("allowExternalPrincipals")
        if allow is not None and not isinstance(allow, bool):
            raise InvalidParameterException("The value for allowExternalPrincipals must be a boolean.")

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            share = self._active_owned_share(arn)
            if name is not None:
                if not name:
                    raise InvalidParameterException("The value for name must not be empty.")
                share.name = name
            if allow is not None:
                share.allow_external = allow
            share.updated = now
            return {"resourceShare": share.describe(), "clientToken": token}

        with WORLD.lock:
            return self._idempotent("UpdateResourceShare", params, run)

    def delete_resource_share(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            share = self._owned_share(arn)
            if share.status == "DELETED":
                raise InvalidStateTransitionException(f"ResourceShare {arn} is already deleted.")
            share.status = "DELETED"
            share.updated = now
            for assoc in [*share.resources.values(), *share.principals.values()]:
                if assoc.status != "DISASSOCIATED":
                    assoc.status, assoc.updated = "DISASSOCIATED", now
            self._drop_pending_invitations(share)
            return {"returnValue": True, "clientToken": token}

        with WORLD.lock:
            return self._idempotent("DeleteResourceShare", params, run)

    def get_resource_shares(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = _enum(params, "resourceOwner", ("SELF", "OTHER-ACCOUNTS"), required=True)
        arns = [_check_arn(a, _SHARE_ARN_RE, "resource share") for a in _strs(params, "resourceShareArns")]
        status = _enum(params, "resourceShareStatus", ("PENDING", "ACTIVE", "FAILED", "DELETING", "DELETED"))
        name = _str(params, "name")
        permission_arn = _str(params, "permissionArn")
        permission_version = params.get("permissionVersion")
        tag_filters = params.get("tagFilters") or []
        if not isinstance(tag_filters, list) or not all(isinstance(f, dict) for f in tag_filters):
            raise InvalidParameterException("tagFilters must be a list of {tagKey, tagValues} objects.")
        if permission_arn is not None:
            self._permission(permission_arn)
        if permission_version is not None and permission_version != 1:
            raise InvalidParameterException(
                f"Version {permission_version} of permission {permission_arn} does not exist."
            )
        with WORLD.lock:
            self._now()
            shares = [s for s in WORLD.shares.values() if s.region == self.region_name]
            if owner == "SELF":
                shares = [s for s in shares if s.owner == self.account_id]
            else:
                shares = [s for s in shares if WORLD.visible_to_receiver(s, self.account_id)]
            if arns:
                shares = [s for s in shares if s.arn in arns]
            if status:
                shares = [s for s in shares if s.status == status]
            if name is not None:
                shares = [s for s in shares if s.name == name]
            if permission_arn is not None:
                shares = [s for s in shares if any(p.arn == permission_arn for p in s.permissions.values())]
            for f in tag_filters:
                key, values = f.get("tagKey"), f.get("tagValues") or []
                shares = [
                    s for s in shares if any(t["key"] == key and (not values or t["value"] in values) for t in s.tags)
                ]
            shares.sort(key=lambda s: (s.created, s.arn))
            described = [s.describe() for s in shares]
        scope = (
            "GetResourceShares",
            self.account_id,
            self.region_name,
            params.get("resourceOwner"),
            arns,
            status,
            name,
        )
        page, token = _page(described, params, (*scope, permission_arn, tag_filters))
        out: dict[str, Any] = {"resourceShares": page}
        if token:
            out["nextToken"] = token
        return out

    # ------------------------------------------------------------------ associations
    def associate_resource_share(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)
        resource_arns = _strs(params, "resourceArns")
        principals = _strs(params, "principals")
        if _strs(params, "sources"):
            raise InvalidParameterException("Sources apply to service principals, which the sandbox does not model.")
        if not resource_arns and not principals:
            raise InvalidParameterException("Specify at least one resource ARN or principal to associate.")

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            share = self._active_owned_share(arn)
            # Check every principal first so a bad one leaves the share unchanged.
            for principal in principals:
                self._check_principal(share, principal)
            for resource in resource_arns:
                self._validate_resource(resource)
            # A quota error half-way must leave the share as it was.
            saved = (copy.deepcopy(share.resources), copy.deepcopy(share.principals), dict(share.permissions))
            try:
                resources = self._add_resources(share, resource_arns, now)
                members = self._add_principals(share, principals, now)
            except RamError:
                share.resources, share.principals, share.permissions = saved
                raise
            share.updated = now
            associations = [a.describe(share, status="ASSOCIATING") for a in [*resources, *members]]
            return {"resourceShareAssociations": associations, "clientToken": token}

        with WORLD.lock:
            return self._idempotent("AssociateResourceShare", params, run)

    def disassociate_resource_share(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)
        resource_arns = [self._canonical_resource(a) for a in _strs(params, "resourceArns")]
        principals = _strs(params, "principals")
        if _strs(params, "sources"):
            raise InvalidParameterException("Sources apply to service principals, which the sandbox does not model.")
        if not resource_arns and not principals:
            raise InvalidParameterException("Specify at least one resource ARN or principal to disassociate.")

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            _check_arn(arn or "", _SHARE_ARN_RE, "resource share")
            share = WORLD.shares.get(arn or "")
            if share is not None and share.owner != self.account_id and share.region == self.region_name:
                return self._leave(share, resource_arns, principals, now, token)
            share = self._active_owned_share(arn)
            for resource in resource_arns:
                if not isinstance(resource, str) or not _ARN_RE.match(resource):
                    raise MalformedArnException(f"The specified resource ARN {resource} is not valid.")
                if resource not in share.resources:
                    raise UnknownResourceException(f"Resource {resource} is not associated with resource share {arn}.")
            for principal in principals:
                _principal_kind(principal)
                if principal not in share.principals:
                    raise UnknownResourceException(
                        f"Principal {principal} is not associated with resource share {arn}."
                    )
            out = []
            for resource in resource_arns:
                assoc = share.resources[resource]
                if assoc.status != "DISASSOCIATED":
                    assoc.status, assoc.updated, assoc.status_message = "DISASSOCIATED", now, None
                    out.append(assoc.describe(share, status="DISASSOCIATING"))
                else:
                    out.append(assoc.describe(share))
            for principal in principals:
                assoc = share.principals[principal]
                self._drop_pending_invitations(share, principal)
                if assoc.status != "DISASSOCIATED":
                    assoc.status, assoc.updated, assoc.status_message = "DISASSOCIATED", now, None
                    out.append(assoc.describe(share, status="DISASSOCIATING"))
                else:
                    out.append(assoc.describe(share))
            share.updated = now
            return {"resourceShareAssociations": out, "clientToken": token}

        with WORLD.lock:
            return self._idempotent("DisassociateResourceShare", params, run)

    def _leave(
        self, share: ResourceShare, resources: list[str], principals: list[str], now: dt.datetime, token: str
    ) -> dict[str, Any]:
        """A receiver outside the owner's organisation leaves a share it accepted."""
        assoc = share.principals.get(self.account_id)
        if (
            resources
            or principals != [self.account_id]
            or share.status != "ACTIVE"
            or assoc is None
            or assoc.via != "INVITATION"
            or assoc.status != "ASSOCIATED"
        ):
            raise UnknownResourceException(f"ResourceShare {share.arn} could not be found.")
        assoc.status, assoc.updated, assoc.status_message = "DISASSOCIATED", now, "The principal left the share."
        return {"resourceShareAssociations": [assoc.describe(share, status="DISASSOCIATING")], "clientToken": token}

    def get_resource_share_associations(self, params: dict[str, Any]) -> dict[str, Any]:
        kind = _enum(params, "associationType", ("PRINCIPAL", "RESOURCE", "SOURCE"), required=True)
        arns = [_check_arn(a, _SHARE_ARN_RE, "resource share") for a in _strs(params, "resourceShareArns")]
        resource_arn = _str(params, "resourceArn")
        principal = _str(params, "principal")
        status = _enum(
            params,
            "associationStatus",
            (
                "ASSOCIATING",
                "ASSOCIATED",
                "FAILED",
                "DISASSOCIATING",
                "DISASSOCIATED",
                "SUSPENDED",
                "SUSPENDING",
                "RESTORING",
            ),
        )
        if kind == "PRINCIPAL" and resource_arn:
            raise InvalidParameterException("You cannot specify a resource ARN when the association type is PRINCIPAL.")
        if kind == "RESOURCE" and principal:
            raise InvalidParameterException("You cannot specify a principal when the association type is RESOURCE.")
        if resource_arn is not None:
            resource_arn = self._canonical_resource(resource_arn)
        rows: list[tuple[Any, ...]] = []
        with WORLD.lock:
            self._now()
            for share in WORLD.shares.values():
                if share.owner != self.account_id or share.region != self.region_name:
                    continue
                if arns and share.arn not in arns:
                    continue
                if kind == "SOURCE":
                    continue  # the sandbox has no service-principal sources
                entries = share.principals if kind == "PRINCIPAL" else share.resources
                for entity, assoc in entries.items():
                    if entity not in (resource_arn or entity, principal or entity):
                        continue
                    if status and assoc.status != status:
                        continue
                    rows.append((share.created, share.arn, assoc.created, entity, assoc.describe(share)))
        rows.sort(key=lambda r: r[:4])
        scope = (
            "GetResourceShareAssociations",
            self.account_id,
            self.region_name,
            kind,
            arns,
            resource_arn,
            principal,
            status,
        )
        page, token = _page([r[4] for r in rows], params, scope)
        out: dict[str, Any] = {"resourceShareAssociations": page}
        if token:
            out["nextToken"] = token
        return out

    # ------------------------------------------------------------------ permissions on shares
    def associate_resource_share_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)
        permission_arn = _str(params, "permissionArn", required=True)
        replace = _bool(params, "replace", False)
        version = params.get("permissionVersion")

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            share = self._active_owned_share(arn)
            permission = self._permission(permission_arn or "")
            if version is not None and version != 1:
                raise InvalidParameterException(f"Version {version} of permission {permission_arn} does not exist.")
            if permission.resource_type not in SHAREABLE_TYPES:
                raise InvalidParameterException(
                    f"Permission {permission_arn} applies to {permission.resource_type}, which the sandbox cannot share."
                )
            current = share.permissions.get(permission.resource_type)
            if current is not None and current.arn != permission.arn and not replace:
                raise InvalidParameterException(
                    f"The resource share already has permission {current.arn} for resource type "
                    f"{permission.resource_type}. Set replace to true to replace it."
                )
            if current is None or current.arn != permission.arn:
                share.permissions[permission.resource_type] = permission
                share.updated = now
            return {"returnValue": True, "clientToken": token}

        with WORLD.lock:
            return self._idempotent("AssociateResourceSharePermission", params, run)

    def disassociate_resource_share_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)
        permission_arn = _str(params, "permissionArn", required=True)

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            share = self._active_owned_share(arn)
            permission = self._permission(permission_arn or "")
            current = share.permissions.get(permission.resource_type)
            if current is None or current.arn != permission.arn:
                raise UnknownResourceException(
                    f"Permission {permission_arn} is not associated with resource share {arn}."
                )
            if share.live_resources(permission.resource_type):
                raise OperationNotPermittedException(
                    f"You can remove the permission for {permission.resource_type} only when the resource share "
                    "has no resources of that type."
                )
            del share.permissions[permission.resource_type]
            share.updated = now
            return {"returnValue": True, "clientToken": token}

        with WORLD.lock:
            return self._idempotent("DisassociateResourceSharePermission", params, run)

    def list_resource_share_permissions(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn", required=True)
        _check_arn(arn or "", _SHARE_ARN_RE, "resource share")
        with WORLD.lock:
            self._now()
            share = WORLD.shares.get(arn or "")
            if (
                share is None
                or share.region != self.region_name
                or not (share.owner == self.account_id or WORLD.visible_to_receiver(share, self.account_id))
            ):
                raise UnknownResourceException(f"ResourceShare {arn} could not be found.")
            rows = []
            for permission in sorted(share.permissions.values(), key=lambda p: p.resource_type):
                row = permission.summary()
                row["lastUpdatedTime"] = _epoch(share.updated)
                row["resourceOwner"] = "SELF" if share.owner == self.account_id else "OTHER-ACCOUNTS"
                rows.append(row)
        page, token = _page(rows, params, ("ListResourceSharePermissions", self.account_id, arn))
        out: dict[str, Any] = {"permissions": page}
        if token:
            out["nextToken"] = token
        return out

    # ------------------------------------------------------------------ managed permissions
    def list_permissions(self, params: dict[str, Any]) -> dict[str, Any]:
        resource_type = _str(params, "resourceType")
        permission_type = _enum(params, "permissionType", ("ALL", "AWS_MANAGED", "CUSTOMER_MANAGED")) or "ALL"
        status = _enum(params, "permissionStatus", ("ATTACHABLE", "UNATTACHABLE", "DELETING", "DELETED", "DEPRECATED"))
        _enum(params, "resourceOwner", ("SELF", "OTHER-ACCOUNTS"))
        permissions = sorted(PERMISSIONS.values(), key=lambda p: (p.resource_type.lower(), p.name))
        if resource_type is not None:
            matched = _match_resource_type(resource_type)
            if matched is None:
                raise InvalidParameterException(f"Invalid resource type: {resource_type}")
            permissions = [p for p in permissions if p.resource_type == matched]
        if permission_type == "CUSTOMER_MANAGED" or (status and status != "ATTACHABLE"):
            permissions = []
        rows = [p.summary() for p in permissions]
        scope = ("ListPermissions", resource_type, permission_type, status)
        page, token = _page(rows, params, scope)
        out: dict[str, Any] = {"permissions": page}
        if token:
            out["nextToken"] = token
        return out

    def get_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "permissionArn", required=True)
        version = params.get("permissionVersion")
        permission = self._permission(arn or "")
        if version is not None and version != 1:
            raise UnknownResourceException(f"Version {version} of permission {arn} could not be found.")
        return {"permission": permission.detail()}

    def list_permission_versions(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "permissionArn", required=True)
        permission = self._permission(arn or "")
        page, token = _page([permission.summary()], params, ("ListPermissionVersions", arn))
        out: dict[str, Any] = {"permissions": page}
        if token:
            out["nextToken"] = token
        return out

    def list_resource_types(self, params: dict[str, Any]) -> dict[str, Any]:
        scope = _enum(params, "resourceRegionScope", ("ALL", "REGIONAL", "GLOBAL")) or "ALL"
        rows = [dict(t) for t in RESOURCE_TYPES if scope == "ALL" or t["resourceRegionScope"] == scope]
        page, token = _page(rows, params, ("ListResourceTypes", scope))
        out: dict[str, Any] = {"resourceTypes": page}
        if token:
            out["nextToken"] = token
        return out

    # ------------------------------------------------------------------ resources and principals
    def _resource_row(self, share: ResourceShare, assoc: Association) -> dict[str, Any]:
        return {
            "arn": assoc.entity,
            "type": assoc.resource_type,
            "resourceShareArn": share.arn,
            "status": "AVAILABLE" if _sagemaker_resource_exists(assoc.entity) else "UNAVAILABLE",
            "creationTime": _epoch(assoc.created),
            "lastUpdatedTime": _epoch(assoc.updated),
            "resourceRegionScope": "REGIONAL",
        }

    def list_resources(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = _enum(params, "resourceOwner", ("SELF", "OTHER-ACCOUNTS"), required=True)
        principal = _str(params, "principal")
        resource_type = _str(params, "resourceType")
        arns = [self._canonical_resource(a) for a in _strs(params, "resourceArns")]
        share_arns = [_check_arn(a, _SHARE_ARN_RE, "resource share") for a in _strs(params, "resourceShareArns")]
        _enum(params, "resourceRegionScope", ("ALL", "REGIONAL", "GLOBAL"))
        if params.get("resourceRegionScope") == "GLOBAL":
            return {"resources": []}
        matched_type = None
        if resource_type is not None:
            matched_type = _match_resource_type(resource_type)
            if matched_type is None:
                raise InvalidResourceTypeException(f"The specified resource type {resource_type} is not valid.")
        rows: list[tuple[Any, ...]] = []
        with WORLD.lock:
            self._now()
            for share in WORLD.shares.values():
                if share.region != self.region_name or share.status != "ACTIVE":
                    continue
                if share_arns and share.arn not in share_arns:
                    continue
                if owner == "SELF":
                    if share.owner != self.account_id:
                        continue
                    assoc = share.principals.get(principal) if principal is not None else None
                    if principal is not None and (assoc is None or assoc.status == "DISASSOCIATED"):
                        continue
                else:
                    if share.owner == self.account_id or not WORLD.grants(share, self.account_id):
                        continue
                    if principal is not None and principal != share.owner:
                        continue
                for assoc in share.live_resources(matched_type):
                    if arns and assoc.entity not in arns:
                        continue
                    rows.append(
                        (share.created, share.arn, assoc.created, assoc.entity, self._resource_row(share, assoc))
                    )
        rows.sort(key=lambda r: r[:4])
        scope = ("ListResources", self.account_id, self.region_name, owner, principal, matched_type, arns, share_arns)
        page, token = _page([r[4] for r in rows], params, scope)
        out: dict[str, Any] = {"resources": page}
        if token:
            out["nextToken"] = token
        return out

    def list_principals(self, params: dict[str, Any]) -> dict[str, Any]:
        owner = _enum(params, "resourceOwner", ("SELF", "OTHER-ACCOUNTS"), required=True)
        resource_arn = _str(params, "resourceArn")
        principals = _strs(params, "principals")
        resource_type = _str(params, "resourceType")
        share_arns = [_check_arn(a, _SHARE_ARN_RE, "resource share") for a in _strs(params, "resourceShareArns")]
        matched_type = None
        if resource_type is not None:
            matched_type = _match_resource_type(resource_type)
            if matched_type is None:
                raise InvalidResourceTypeException(f"The specified resource type {resource_type} is not valid.")
        if resource_arn is not None:
            resource_arn = self._canonical_resource(resource_arn)
        rows: list[tuple[Any, ...]] = []
        with WORLD.lock:
            self._now()
            for share in WORLD.shares.values():
                if share.region != self.region_name or share.status != "ACTIVE":
                    continue
                if share_arns and share.arn not in share_arns:
                    continue
                if resource_arn is not None and resource_arn not in {a.entity for a in share.live_resources()}:
                    continue
                if matched_type is not None and not share.live_resources(matched_type):
                    continue
                if owner == "SELF":
                    if share.owner != self.account_id:
                        continue
                    entries = [a for a in share.principals.values() if a.status in ("ASSOCIATED", "ASSOCIATING")]
                else:
                    if share.owner == self.account_id or not WORLD.grants(share, self.account_id):
                        continue
                    entries = [
                        a for a in share.principals.values() if a.status == "ASSOCIATED" and self._names_me(share, a)
                    ]
                for assoc in entries:
                    if principals and assoc.entity not in principals:
                        continue
                    row = {
                        "id": assoc.entity,
                        "resourceShareArn": share.arn,
                        "creationTime": _epoch(assoc.created),
                        "lastUpdatedTime": _epoch(assoc.updated),
                        "external": assoc.external,
                    }
                    rows.append((share.created, share.arn, assoc.created, assoc.entity, row))
        rows.sort(key=lambda r: r[:4])
        scope = (
            "ListPrincipals",
            self.account_id,
            self.region_name,
            owner,
            resource_arn,
            principals,
            matched_type,
            share_arns,
        )
        page, token = _page([r[4] for r in rows], params, scope)
        out: dict[str, Any] = {"principals": page}
        if token:
            out["nextToken"] = token
        return out

    def _names_me(self, share: ResourceShare, assoc: Association) -> bool:
        if assoc.entity == self.account_id:
            return True
        kind = _principal_kind(assoc.entity)
        organization = orgs.organization_of(share.owner)
        if organization is None or not orgs.is_member(self.account_id, organization):
            return False
        if kind == ORGANIZATION:
            return True
        if kind == OU:
            ou_id = _OU_ARN_RE.match(assoc.entity).group(3)  # type: ignore[union-attr]
            return self.account_id in orgs.accounts_under(organization, ou_id)
        return False

    # ------------------------------------------------------------------ invitations
    def get_resource_share_invitations(self, params: dict[str, Any]) -> dict[str, Any]:
        invitation_arns = [
            _check_arn(a, _INVITATION_ARN_RE, "resource share invitation")
            for a in _strs(params, "resourceShareInvitationArns")
        ]
        share_arns = [_check_arn(a, _SHARE_ARN_RE, "resource share") for a in _strs(params, "resourceShareArns")]
        with WORLD.lock:
            self._now()
            for arn in invitation_arns:
                invitation = WORLD.invitations.get(arn)
                if invitation is None or invitation.receiver != self.account_id:
                    raise ResourceShareInvitationArnNotFoundException(
                        f"ResourceShareInvitation {arn} could not be found."
                    )
            found = [
                i
                for i in WORLD.invitations.values()
                if i.receiver == self.account_id
                and i.share.region == self.region_name
                and i.share.status == "ACTIVE"
                and (not invitation_arns or i.arn in invitation_arns)
                and (not share_arns or i.share.arn in share_arns)
            ]
            found.sort(key=lambda i: (i.sent, i.arn))
            rows = [i.describe() for i in found]
        scope = ("GetResourceShareInvitations", self.account_id, self.region_name, invitation_arns, share_arns)
        page, token = _page(rows, params, scope, max_error=InvalidMaxResultsException)
        out: dict[str, Any] = {"resourceShareInvitations": page}
        if token:
            out["nextToken"] = token
        return out

    def _receivers_invitation(self, arn: str | None) -> Invitation:
        _check_arn(arn or "", _INVITATION_ARN_RE, "resource share invitation")
        invitation = WORLD.invitations.get(arn or "")
        if invitation is None or invitation.share.region != self.region_name or invitation.share.status != "ACTIVE":
            raise ResourceShareInvitationArnNotFoundException(f"ResourceShareInvitation {arn} could not be found.")
        if invitation.receiver != self.account_id:
            if invitation.share.owner == self.account_id:
                raise OperationNotPermittedException(
                    "Only the account that received the invitation can accept or reject it."
                )
            raise ResourceShareInvitationArnNotFoundException(f"ResourceShareInvitation {arn} could not be found.")
        return invitation

    def _answer(self, params: dict[str, Any], accept: bool) -> dict[str, Any]:
        arn = _str(params, "resourceShareInvitationArn", required=True)

        def run(token: str) -> dict[str, Any]:
            now = self._now()
            invitation = self._receivers_invitation(arn)
            if invitation.status == "ACCEPTED":
                raise ResourceShareInvitationAlreadyAcceptedException(
                    f"ResourceShareInvitation {arn} has already been accepted."
                )
            if invitation.status == "REJECTED":
                raise ResourceShareInvitationAlreadyRejectedException(
                    f"ResourceShareInvitation {arn} has already been rejected."
                )
            if invitation.status == "EXPIRED":
                raise ResourceShareInvitationExpiredException(
                    f"ResourceShareInvitation {arn} expired at "
                    f"{invitation.expires.isoformat().replace('+00:00', 'Z')}. Ask the owner to share again."
                )
            invitation.status = "ACCEPTED" if accept else "REJECTED"
            invitation.answered = now
            assoc = invitation.share.principals.get(invitation.receiver)
            if assoc is not None and assoc.via == "INVITATION":
                assoc.updated = now
                if accept:
                    assoc.status, assoc.status_message = "ASSOCIATED", None
                else:
                    assoc.status = "DISASSOCIATED"
                    assoc.status_message = "The principal rejected the invitation."
            return {"resourceShareInvitation": invitation.describe(), "clientToken": token}

        operation = "AcceptResourceShareInvitation" if accept else "RejectResourceShareInvitation"
        with WORLD.lock:
            return self._idempotent(operation, params, run)

    def accept_resource_share_invitation(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._answer(params, accept=True)

    def reject_resource_share_invitation(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._answer(params, accept=False)

    def list_pending_invitation_resources(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareInvitationArn", required=True)
        _enum(params, "resourceRegionScope", ("ALL", "REGIONAL", "GLOBAL"))
        with WORLD.lock:
            self._now()
            invitation = self._receivers_invitation(arn)
            if invitation.status == "REJECTED":
                raise ResourceShareInvitationAlreadyRejectedException(
                    f"ResourceShareInvitation {arn} has already been rejected."
                )
            if invitation.status == "EXPIRED":
                raise ResourceShareInvitationExpiredException(f"ResourceShareInvitation {arn} has expired.")
            share = invitation.share
            rows = [
                self._resource_row(share, a)
                for a in sorted(share.live_resources(), key=lambda a: (a.created, a.entity))
            ]
        if params.get("resourceRegionScope") == "GLOBAL":
            rows = []
        page, token = _page(rows, params, ("ListPendingInvitationResources", self.account_id, arn))
        out: dict[str, Any] = {"resources": page}
        if token:
            out["nextToken"] = token
        return out

    # ------------------------------------------------------------------ organisation, tags
    def enable_sharing_with_aws_organization(self, params: dict[str, Any]) -> dict[str, Any]:
        organization = orgs.organization_of(self.account_id)
        if organization is None or organization.master_account_id != self.account_id:
            raise OperationNotPermittedException(
                "Unable to enable sharing with AWS Organizations. Received AccessDeniedException from "
                "AWSOrganizations with the following error message: You don't have permissions to access "
                "this resource."
            )
        if organization.feature_set != "ALL":
            raise OperationNotPermittedException(
                "Unable to enable sharing with AWS Organizations: the organization must have all features enabled."
            )
        with WORLD.lock:
            WORLD.org_sharing.add(organization.id)
        backend = orgs.management_backend(organization)
        if not any(s.get("ServicePrincipal") == "ram.amazonaws.com" for s in backend.services):
            backend.enable_aws_service_access(ServicePrincipal="ram.amazonaws.com")
        return {"returnValue": True}

    def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn")
        if arn is None:
            raise InvalidParameterException("The sandbox tags resource shares only; specify resourceShareArn.")
        tags = _tags(params)
        if not tags:
            raise InvalidParameterException("Specify at least one tag.")
        with WORLD.lock:
            share = self._active_owned_share(arn)
            merged = {t["key"]: t["value"] for t in share.tags}
            merged.update({t["key"]: t["value"] for t in tags})
            if len(merged) > MAX_TAGS:
                raise TagLimitExceededException(f"A resource share can have at most {MAX_TAGS} tags.")
            share.tags = [{"key": k, "value": v} for k, v in merged.items()]
        return {}

    def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = _str(params, "resourceShareArn")
        if arn is None:
            raise InvalidParameterException("The sandbox tags resource shares only; specify resourceShareArn.")
        keys = _strs(params, "tagKeys")
        with WORLD.lock:
            share = self._active_owned_share(arn)
            share.tags = [t for t in share.tags if t["key"] not in keys]
        return {}


def _match_resource_type(value: str) -> str | None:
    """RAM resource types: the service prefix is case-sensitive, the type name is not."""
    service, _, name = value.partition(":")
    for t in RESOURCE_TYPES:
        t_service, _, t_name = t["resourceType"].partition(":")
        if t_service == service and t_name.lower() == name.lower():
            return t["resourceType"]
    return None


# --------------------------------------------------------------------------- HTTP


class RamResponse(ResourceAccessManagerResponse):
    """Decodes the REST-JSON request, calls the backend, encodes the answer."""

    @property
    def ram_backend(self) -> RamBackend:  # type: ignore[override]
        return ram_models.ram_backends[self.current_account][self.region]  # type: ignore[return-value]

    def _params(self) -> dict[str, Any]:
        raw = self.body
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        params: Any = {}
        if raw and raw.strip():
            try:
                params = json.loads(raw)
            except (ValueError, RecursionError):
                raise InvalidParameterException("The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise InvalidParameterException("The request body must be a JSON object.")
        for key, values in (self.querystring or {}).items():
            if key not in params and values:
                params[key] = values[0] if isinstance(values, list) else values
        return params

    def _call(self, name: str) -> tuple[int, dict[str, str], str]:
        body = json.dumps(getattr(self.ram_backend, name)(self._params()))
        return 200, {"Content-Type": "application/json"}, body


def _handler(operation: str) -> Callable[[RamResponse], tuple[int, dict[str, str], str]]:
    def handle(self: RamResponse) -> tuple[int, dict[str, str], str]:
        return self._call(operation)

    handle.__name__ = operation
    return handle


OPERATIONS = (
    "create_resource_share",
    "update_resource_share",
    "delete_resource_share",
    "get_resource_shares",
    "associate_resource_share",
    "disassociate_resource_share",
    "get_resource_share_associations",
    "associate_resource_share_permission",
    "disassociate_resource_share_permission",
    "list_resource_share_permissions",
    "list_permissions",
    "get_permission",
    "list_permission_versions",
    "list_resource_types",
    "list_resources",
    "list_principals",
    "get_resource_share_invitations",
    "accept_resource_share_invitation",
    "reject_resource_share_invitation",
    "list_pending_invitation_resources",
    "enable_sharing_with_aws_organization",
    "tag_resource",
    "untag_resource",
)
for _operation in OPERATIONS:
    setattr(RamResponse, _operation, _handler(_operation))

# moto derives the URL module (moto.ram.urls) from the backend class's module.
RamBackend.__module__ = ram_models.__name__


def apply() -> None:
    """Route every RAM operation to :class:`RamResponse` and use :class:`RamBackend`."""
    paths = {f"{{0}}/{op.replace('_', '')}/?$": RamResponse.dispatch for op in OPERATIONS}
    ram_urls.url_paths.clear()
    ram_urls.url_paths.update(paths)
    backends = ram_models.ram_backends
    backends.backend = RamBackend
    for account_backends in backends.values():
        account_backends.backend = RamBackend
        account_backends.clear()

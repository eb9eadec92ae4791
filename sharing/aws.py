"""AWS RAM gateway: resource shares of SageMaker feature groups and catalogs, and their invitations.

The only module of `sharing` that talks to boto3 (through `portal.aws.Gateway`).
It pages through every listing with botocore's paginators, returns frozen
dataclasses, and turns RAM's own error codes into the classes below so the
services can say something a person understands.

RAM API reference: https://docs.aws.amazon.com/ram/latest/APIReference/Welcome.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.aws import AwsError, AwsNotFound, AwsThrottled, Gateway

FEATURE_GROUP_TYPE = "sagemaker:FeatureGroup"
CATALOG_TYPE = "sagemaker:SagemakerCatalog"
CATALOG_NAME = "DefaultFeatureGroupCatalog"

# RAM user guide, "Accepting and rejecting invitations": invitations expire after 12 hours for
# every resource type except a short list (EC2 subnets, transit gateways, RDS clusters, …) that
# gets seven days. SageMaker feature groups and catalogs are not on that list.
# https://docs.aws.amazon.com/ram/latest/userguide/working-with-shared-invitations.html
INVITATION_LIFETIME = timedelta(hours=12)

# A clientToken is at most 64 characters (CreateResourceShare and friends).
MAX_CLIENT_TOKEN_LENGTH = 64

# Level → how the managed permission's name ends, compared case-insensitively: AWS's own pages
# spell them "SageMaker…ReadOnly" and "Sagemaker…ReadWrite"/"…Admin", so Pantry resolves the real
# ARNs with ListPermissions instead of hard-coding them.
PERMISSION_ENDINGS = {
    "discover": (CATALOG_TYPE, "catalogresourcesearch"),
    "read_only": (FEATURE_GROUP_TYPE, "featuregroupreadonly"),
    "read_write": (FEATURE_GROUP_TYPE, "featuregroupreadwrite"),
    "admin": (FEATURE_GROUP_TYPE, "featuregroupadmin"),
}


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class RamLimitExceeded(AwsError):
    """A RAM quota (shares per Region, resources or principals per share, pending invitations)."""


class RamUnknownResource(AwsNotFound):
    """RAM does not know the share, resource, principal or invitation."""


class RamInvitationExpired(AwsError):
    """The invitation expired before it was answered."""


class RamInvitationAnswered(AwsError):
    """The invitation was already accepted or rejected."""


class RamIdempotencyMismatch(AwsError):
    """The clientToken was used before with other parameters."""


class RamOperationNotPermitted(AwsError):
    """RAM refuses the operation (e.g. sharing outside the organisation is off)."""


_RAM_CLASSES: dict[str, type[AwsError]] = {
    "ResourceShareLimitExceededException": RamLimitExceeded,
    "UnknownResourceException": RamUnknownResource,
    "ResourceArnNotFoundException": RamUnknownResource,
    "ResourceShareInvitationArnNotFoundException": RamUnknownResource,
    "MalformedArnException": RamUnknownResource,
    "ResourceShareInvitationExpiredException": RamInvitationExpired,
    "ResourceShareInvitationAlreadyAcceptedException": RamInvitationAnswered,
    "ResourceShareInvitationAlreadyRejectedException": RamInvitationAnswered,
    "IdempotentParameterMismatchException": RamIdempotencyMismatch,
    "OperationNotPermittedException": RamOperationNotPermitted,
}


def _refine(exc: AwsError) -> AwsError:
    cls = _RAM_CLASSES.get(exc.code)
    if cls is None or isinstance(exc, cls):
        return exc
    return cls(exc.message, code=exc.code, operation=exc.operation)


def ram_error_message(exc: AwsError) -> str:
    """What a person reads on the form or the request page when RAM said no."""
    if isinstance(exc, RamLimitExceeded):
        return f"AWS RAM limit reached: {exc.message}"
    if isinstance(exc, RamInvitationExpired):
        return "The RAM invitation expired before it was accepted; re-send it."
    if isinstance(exc, RamInvitationAnswered):
        return f"The RAM invitation was already answered: {exc.message}"
    if isinstance(exc, RamIdempotencyMismatch):
        return "AWS RAM saw this request before with other details; retry it."
    if isinstance(exc, RamUnknownResource):
        return f"AWS RAM does not know a resource or account of this share: {exc.message}"
    if isinstance(exc, AwsThrottled):
        return "AWS RAM is throttling Pantry; retry in a minute."
    return f"AWS RAM refused: {exc}"


def client_token(*parts: object) -> str:
    """An idempotency token from stable parts (a request's UUID and a step), ≤ 64 characters."""
    import hashlib

    raw = "-".join(str(p) for p in parts)
    if len(raw) <= MAX_CLIENT_TOKEN_LENGTH:
        return raw
    return raw[:31] + "-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceShareRecord:
    arn: str
    name: str
    owner_account_id: str
    status: str
    allow_external_principals: bool
    created_at: datetime | None
    tags: dict[str, str]


@dataclass(frozen=True)
class AssociationRecord:
    share_arn: str
    share_name: str
    entity: str  # a resource ARN or a principal (12-digit account id, OU or organisation ARN)
    association_type: str  # RESOURCE | PRINCIPAL
    status: str  # ASSOCIATING | ASSOCIATED | FAILED | DISASSOCIATING | DISASSOCIATED
    external: bool
    status_message: str


@dataclass(frozen=True)
class ResourceRecord:
    arn: str
    type: str
    share_arn: str
    status: str


@dataclass(frozen=True)
class InvitationRecord:
    arn: str
    share_arn: str
    share_name: str
    sender_account_id: str
    receiver_account_id: str
    status: str  # PENDING | ACCEPTED | REJECTED | EXPIRED
    invited_at: datetime | None

    @property
    def expires_at(self) -> datetime | None:
        return self.invited_at + INVITATION_LIFETIME if self.invited_at else None


@dataclass(frozen=True)
class PermissionRecord:
    arn: str
    name: str
    resource_type: str
    version: str


def _share(raw: dict) -> ResourceShareRecord:
    return ResourceShareRecord(
        arn=raw["resourceShareArn"],
        name=raw.get("name", ""),
        owner_account_id=raw.get("owningAccountId", ""),
        status=raw.get("status", ""),
        allow_external_principals=bool(raw.get("allowExternalPrincipals", True)),
        created_at=raw.get("creationTime"),
        tags={t["key"]: t.get("value", "") for t in raw.get("tags") or []},
    )


def _association(raw: dict) -> AssociationRecord:
    return AssociationRecord(
        share_arn=raw.get("resourceShareArn", ""),
        share_name=raw.get("resourceShareName", ""),
        entity=raw.get("associatedEntity", ""),
        association_type=raw.get("associationType", ""),
        status=raw.get("status", ""),
        external=bool(raw.get("external", False)),
        status_message=raw.get("statusMessage", "") or "",
    )


def _invitation(raw: dict) -> InvitationRecord:
    return InvitationRecord(
        arn=raw["resourceShareInvitationArn"],
        share_arn=raw.get("resourceShareArn", ""),
        share_name=raw.get("resourceShareName", ""),
        sender_account_id=raw.get("senderAccountId", ""),
        receiver_account_id=raw.get("receiverAccountId", ""),
        status=raw.get("status", ""),
        invited_at=raw.get("invitationTimestamp"),
    )


def catalog_arn(region: str, account_id: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account_id}:sagemaker-catalog/{CATALOG_NAME}"


def level_of_permission(name: str) -> str | None:
    """Pantry's level for a managed permission's name (case-insensitive), or None."""
    lowered = name.lower()
    for level, (_, ending) in PERMISSION_ENDINGS.items():
        if lowered.endswith(ending):
            return level
    return None


# ---------------------------------------------------------------------------
# Gateway
# ---------------------------------------------------------------------------


class RamGateway(Gateway):
    """RAM in one account and Region."""

    service = "ram"

    def _call(self, operation: str, **params: Any) -> dict:
        try:
            return super()._call(operation, **params)
        except AwsError as exc:
            raise _refine(exc) from exc

    def _pages(self, operation: str, *, page_size: int | None = None, **params: Any):
        try:
            yield from super()._pages(operation, page_size=page_size, **params)
        except AwsError as exc:
            raise _refine(exc) from exc

    # -------------------------------------------------------------- permissions
    def list_permissions(self, resource_type: str) -> list[PermissionRecord]:
        """Managed permissions for one resource type."""
        return self._permission_records(
            lambda **p: self._call("ListPermissions", **p), resourceType=resource_type, permissionType="AWS_MANAGED"
        )

    @staticmethod
    def _permission_records(call: Callable[..., dict], **params: Any) -> list[PermissionRecord]:
        """Every page of a permissions listing (botocore has no paginator for these calls).

        `call` makes the one request with a literal operation name, so the policy test can read
        which RAM actions this module calls (tests/test_aws_policies.py)."""
        out: list[PermissionRecord] = []
        while True:
            page = call(**params)
            out += [
                PermissionRecord(
                    arn=p["arn"],
                    name=p.get("name", ""),
                    resource_type=p.get("resourceType", ""),
                    version=p.get("version", ""),
                )
                for p in page.get("permissions", [])
            ]
            if not page.get("nextToken"):
                return out
            params["nextToken"] = page["nextToken"]

    def managed_permissions(self) -> dict[str, str]:
        """Level ('discover', 'read_only', 'read_write', 'admin') → managed permission ARN."""
        found: dict[str, str] = {}
        for resource_type in (FEATURE_GROUP_TYPE, CATALOG_TYPE):
            for permission in self.list_permissions(resource_type):
                level = level_of_permission(permission.name)
                if level and PERMISSION_ENDINGS[level][0].lower() == permission.resource_type.lower():
                    found[level] = permission.arn
        return found

    def list_resource_share_permissions(self, share_arn: str) -> list[PermissionRecord]:
        return self._permission_records(
            lambda **p: self._call("ListResourceSharePermissions", **p), resourceShareArn=share_arn
        )

    def associate_resource_share_permission(
        self, *, share_arn: str, permission_arn: str, client_token: str, replace: bool = False
    ) -> None:
        self._call(
            "AssociateResourceSharePermission",
            resourceShareArn=share_arn,
            permissionArn=permission_arn,
            replace=replace,
            clientToken=client_token,
        )

    # -------------------------------------------------------------- shares
    def create_resource_share(
        self,
        *,
        name: str,
        resource_arns: Sequence[str],
        principals: Sequence[str],
        permission_arns: Sequence[str],
        client_token: str,
        tags: dict[str, str] | None = None,
    ) -> ResourceShareRecord:
        response = self._call(
            "CreateResourceShare",
            name=name,
            resourceArns=list(resource_arns),
            principals=list(principals),
            permissionArns=list(permission_arns),
            allowExternalPrincipals=True,
            clientToken=client_token,
            tags=[{"key": k, "value": v} for k, v in (tags or {}).items()],
        )
        return _share(response["resourceShare"])

    def associate_resource_share(
        self, *, share_arn: str, client_token: str, resource_arns: Iterable[str] = (), principals: Iterable[str] = ()
    ) -> list[AssociationRecord]:
        params: dict[str, Any] = {"resourceShareArn": share_arn, "clientToken": client_token}
        if resource_arns:
            params["resourceArns"] = list(resource_arns)
        if principals:
            params["principals"] = list(principals)
        response = self._call("AssociateResourceShare", **params)
        return [_association(a) for a in response.get("resourceShareAssociations", [])]

    def disassociate_resource_share(
        self, *, share_arn: str, client_token: str, resource_arns: Iterable[str] = (), principals: Iterable[str] = ()
    ) -> list[AssociationRecord]:
        params: dict[str, Any] = {"resourceShareArn": share_arn, "clientToken": client_token}
        if resource_arns:
            params["resourceArns"] = list(resource_arns)
        if principals:
            params["principals"] = list(principals)
        response = self._call("DisassociateResourceShare", **params)
        return [_association(a) for a in response.get("resourceShareAssociations", [])]

    def get_resource_shares(self, *, owner: str = "SELF", share_arns: Sequence[str] = ()) -> list[ResourceShareRecord]:
        params: dict[str, Any] = {"resourceOwner": owner}
        if share_arns:
            params["resourceShareArns"] = list(share_arns)
        return [
            _share(s) for page in self._pages("GetResourceShares", **params) for s in page.get("resourceShares", [])
        ]

    def get_resource_share_associations(
        self,
        *,
        association_type: str,
        share_arns: Sequence[str] = (),
        principal: str | None = None,
        resource_arn: str | None = None,
    ) -> list[AssociationRecord]:
        params: dict[str, Any] = {"associationType": association_type}
        if share_arns:
            params["resourceShareArns"] = list(share_arns)
        if principal:
            params["principal"] = principal
        if resource_arn:
            params["resourceArn"] = resource_arn
        return [
            _association(a)
            for page in self._pages("GetResourceShareAssociations", **params)
            for a in page.get("resourceShareAssociations", [])
        ]

    def list_resources(self, *, owner: str = "SELF", share_arns: Sequence[str] = ()) -> list[ResourceRecord]:
        params: dict[str, Any] = {"resourceOwner": owner}
        if share_arns:
            params["resourceShareArns"] = list(share_arns)
        return [
            ResourceRecord(
                arn=r["arn"],
                type=r.get("type", ""),
                share_arn=r.get("resourceShareArn", ""),
                status=r.get("status", ""),
            )
            for page in self._pages("ListResources", **params)
            for r in page.get("resources", [])
        ]

    # -------------------------------------------------------------- invitations (the receiver's side)
    def get_resource_share_invitations(self, *, share_arns: Sequence[str] = ()) -> list[InvitationRecord]:
        params: dict[str, Any] = {}
        if share_arns:
            params["resourceShareArns"] = list(share_arns)
        return [
            _invitation(i)
            for page in self._pages("GetResourceShareInvitations", **params)
            for i in page.get("resourceShareInvitations", [])
        ]

    def accept_resource_share_invitation(self, *, invitation_arn: str, client_token: str) -> InvitationRecord:
        response = self._call(
            "AcceptResourceShareInvitation", resourceShareInvitationArn=invitation_arn, clientToken=client_token
        )
        return _invitation(response["resourceShareInvitation"])

    def reject_resource_share_invitation(self, *, invitation_arn: str, client_token: str) -> InvitationRecord:
        response = self._call(
            "RejectResourceShareInvitation", resourceShareInvitationArn=invitation_arn, clientToken=client_token
        )
        return _invitation(response["resourceShareInvitation"])


def ram_gateway(account, region: str) -> RamGateway:
    """The RAM gateway inside a registered `catalog.AwsAccount` (its role and external id)."""
    from portal.aws import AccountRole, account_session

    role = AccountRole(account_id=account.account_id, role_arn=account.role_arn, external_id=account.external_id)
    return RamGateway(account_session(role, region))

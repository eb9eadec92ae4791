"""AWS Organizations additions: inviting existing accounts (handshakes) and membership lookups.

moto 5.2.5 creates member accounts only through ``CreateAccount``, which invents a random
account id. The sandbox's organisation is built from accounts whose ids are fixed (the demo and
the tests refer to them), so the seed brings them in the way an administrator brings an
existing account into an organisation in AWS: ``InviteAccountToOrganization`` from the
management account, then ``AcceptHandshake`` from the invited account. ``DeclineHandshake``,
``DescribeHandshake`` and ``ListHandshakesForAccount`` complete the round trip.

:func:`organization_of`, :func:`is_member` and :func:`accounts_under` answer the membership
questions AWS RAM asks (is this principal in the owner's organisation, which accounts does an
OU contain) from moto's own Organizations state, so an account that leaves the organisation
loses organisation-scoped RAM access at once, as in AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import threading
from typing import Any

from moto.core.utils import unix_time, utcnow
from moto.moto_api._internal import mock_random as random
from moto.organizations import models as org_models
from moto.organizations.exceptions import (
    AccountNotFoundException,
    AWSOrganizationsNotInUseException,
    InvalidInputException,
    OrganizationsClientError,
)
from moto.organizations.responses import OrganizationsResponse

_lock = threading.RLock()
# handshake id -> (management account id, partition) so the invited account can find it.
_handshake_owner: dict[str, tuple[str, str]] = {}
_HANDSHAKE_ID_RE = re.compile(r"^h-[0-9a-z]{8,32}$")
# AWS: an invitation handshake stays open for 15 days.
HANDSHAKE_LIFETIME = dt.timedelta(days=15)


class HandshakeNotFoundException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__(
            "HandshakeNotFoundException", "We can't find a handshake with the HandshakeId that you specified."
        )


class HandshakeAlreadyInStateException(OrganizationsClientError):
    def __init__(self, state: str) -> None:
        super().__init__(
            "HandshakeAlreadyInStateException", f"The specified handshake is already in the requested state: {state}."
        )


class InvalidHandshakeTransitionException(OrganizationsClientError):
    def __init__(self, state: str) -> None:
        super().__init__(
            "InvalidHandshakeTransitionException",
            f"You can't perform the operation on the handshake in its current state ({state}).",
        )


class DuplicateHandshakeException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__(
            "DuplicateHandshakeException",
            "A handshake with the same action and target already exists. "
            "For example, if you invited an account to join your organization, the invited account "
            "might already have a pending invitation from this organization.",
        )


class AlreadyInOrganizationException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("HandshakeConstraintViolationException", "The account is already a member of an organization.")


class FakeHandshake:
    def __init__(self, organization: org_models.FakeOrganization, target: str, notes: str | None) -> None:
        self.id = "h-" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(32))
        self.organization_id = organization.id
        self.management_account_id = organization.master_account_id
        self.partition = "aws"
        self.target = target
        self.notes = notes
        self.state = "OPEN"
        self.requested = utcnow()
        self.expires = self.requested + HANDSHAKE_LIFETIME

    @property
    def arn(self) -> str:
        return (
            f"arn:{self.partition}:organizations::{self.management_account_id}:handshake/"
            f"{self.organization_id}/invite/{self.id}"
        )

    def describe(self) -> dict[str, Any]:
        resources: list[dict[str, Any]] = [
            {"Type": "ORGANIZATION", "Value": self.organization_id},
            {"Type": "ACCOUNT", "Value": self.target},
        ]
        if self.notes:
            resources.append({"Type": "NOTES", "Value": self.notes})
        return {
            "Id": self.id,
            "Arn": self.arn,
            "Parties": [
                {"Id": self.organization_id, "Type": "ORGANIZATION"},
                {"Id": self.target, "Type": "ACCOUNT"},
            ],
            "State": self.state,
            "RequestedTimestamp": unix_time(self.requested),
            "ExpirationTimestamp": unix_time(self.expires),
            "Action": "INVITE",
            "Resources": resources,
        }


def _backends() -> Any:
    return org_models.organizations_backends


def _org_backend(account_id: str, partition: str = "aws") -> org_models.OrganizationsBackend:
    return _backends()[account_id][partition]


def _handshakes(backend: org_models.OrganizationsBackend) -> list[FakeHandshake]:
    if not hasattr(backend, "sandbox_handshakes"):
        backend.sandbox_handshakes = []  # type: ignore[attr-defined]
    return backend.sandbox_handshakes  # type: ignore[attr-defined]


def _member_account(organization: org_models.FakeOrganization, account_id: str, name: str) -> Any:
    """A ``FakeAccount`` with a fixed id that joined by invitation (no role is created for it)."""
    account = org_models.FakeAccount.__new__(org_models.FakeAccount)
    account.type = "ACCOUNT"
    account.region = organization.region
    account.organization_id = organization.id
    account.master_account_id = organization.master_account_id
    account.create_account_status_id = org_models.utils.make_random_create_account_status_id()
    account.id = account_id
    account.name = name
    account.email = f"aws+{account_id}@example.com"
    account.create_time = utcnow()
    account.status = "ACTIVE"
    account.state = "ACTIVE"
    account.joined_method = "INVITED"
    account.parent_id = organization.root_id
    account.attached_policies = []
    account.tags = {}
    return account


def _find_handshake(handshake_id: str) -> tuple[org_models.OrganizationsBackend, FakeHandshake]:
    if not _HANDSHAKE_ID_RE.match(handshake_id or ""):
        raise InvalidInputException("You provided a value that does not match the required pattern.")
    with _lock:
        owner = _handshake_owner.get(handshake_id)
    if owner is not None:
        backend = _org_backend(*owner)
        for handshake in _handshakes(backend):
            if handshake.id == handshake_id:
                return backend, handshake
    raise HandshakeNotFoundException()


class OrganizationsBackendMixin:
    """Handshake operations for moto's ``OrganizationsBackend``."""

    account_id: str
    partition: str
    org: org_models.FakeOrganization | None
    accounts: list[Any]

    def invite_account_to_organization(self, target: dict[str, Any], notes: str | None = None) -> dict[str, Any]:
        if self.org is None:
            raise AWSOrganizationsNotInUseException()
        if (target or {}).get("Type") != "ACCOUNT" or not re.fullmatch(r"\d{12}", str(target.get("Id", ""))):
            raise InvalidInputException("You provided a value that does not match the required pattern.")
        account_id = str(target["Id"])
        if account_id in _backends().master_accounts or any(a.id == account_id for a in self.accounts):
            raise AlreadyInOrganizationException()
        with _lock:
            for handshake in _handshakes(self):  # type: ignore[arg-type]
                if handshake.target == account_id and handshake.state == "OPEN":
                    raise DuplicateHandshakeException()
            handshake = FakeHandshake(self.org, account_id, notes)
            handshake.partition = self.partition
            _handshakes(self).append(handshake)  # type: ignore[arg-type]
            _handshake_owner[handshake.id] = (self.account_id, self.partition)
        return {"Handshake": handshake.describe()}

    def _respond_to_handshake(self, handshake_id: str, accept: bool) -> dict[str, Any]:
        backend, handshake = _find_handshake(handshake_id)
        if handshake.target != self.account_id:
            raise HandshakeNotFoundException()
        with _lock:
            wanted = "ACCEPTED" if accept else "DECLINED"
            if handshake.state == wanted:
                raise HandshakeAlreadyInStateException(wanted)
            if handshake.state != "OPEN" or utcnow() > handshake.expires:
                raise InvalidHandshakeTransitionException(handshake.state)
            if accept:
                if self.account_id in _backends().master_accounts or self.org is not None:
                    raise AlreadyInOrganizationException()
                organization = backend.org
                if organization is None:
                    raise AWSOrganizationsNotInUseException()
                account = _member_account(organization, self.account_id, name=f"account-{self.account_id}")
                backend.accounts.append(account)
                for policy_id in (org_models.utils.DEFAULT_SCP_POLICY_ID, org_models.utils.DEFAULT_RCP_POLICY_ID):
                    backend.attach_policy(PolicyId=policy_id, TargetId=account.id)
                _backends().master_accounts[self.account_id] = (backend.account_id, backend.partition)
            handshake.state = wanted
        return {"Handshake": handshake.describe()}

    def accept_handshake(self, handshake_id: str) -> dict[str, Any]:
        return self._respond_to_handshake(handshake_id, accept=True)

    def decline_handshake(self, handshake_id: str) -> dict[str, Any]:
        return self._respond_to_handshake(handshake_id, accept=False)

    def describe_handshake(self, handshake_id: str) -> dict[str, Any]:
        backend, handshake = _find_handshake(handshake_id)
        if self.account_id not in (handshake.target, backend.account_id):
            raise HandshakeNotFoundException()
        return {"Handshake": handshake.describe()}

    def list_handshakes_for_account(self) -> dict[str, Any]:
        found = []
        with _lock:
            for handshake_id, owner in list(_handshake_owner.items()):
                for handshake in _handshakes(_org_backend(*owner)):
                    if handshake.id == handshake_id and handshake.target == self.account_id:
                        found.append(handshake.describe())
        return {"Handshakes": found}


class OrganizationsResponseMixin:
    """Handlers patched onto moto's ``OrganizationsResponse``."""

    def invite_account_to_organization(self) -> str:
        return json.dumps(
            self.organizations_backend.invite_account_to_organization(  # type: ignore[attr-defined]
                target=self._get_param("Target"),
                notes=self._get_param("Notes"),  # type: ignore[attr-defined]
            )
        )

    def accept_handshake(self) -> str:
        return json.dumps(self.organizations_backend.accept_handshake(self._get_param("HandshakeId")))  # type: ignore[attr-defined]

    def decline_handshake(self) -> str:
        return json.dumps(self.organizations_backend.decline_handshake(self._get_param("HandshakeId")))  # type: ignore[attr-defined]

    def describe_handshake(self) -> str:
        return json.dumps(self.organizations_backend.describe_handshake(self._get_param("HandshakeId")))  # type: ignore[attr-defined]

    def list_handshakes_for_account(self) -> str:
        return json.dumps(self.organizations_backend.list_handshakes_for_account())  # type: ignore[attr-defined]


def apply() -> None:
    for name, value in vars(OrganizationsBackendMixin).items():
        if callable(value) and not name.startswith("__"):
            setattr(org_models.OrganizationsBackend, name, value)
    for name, value in vars(OrganizationsResponseMixin).items():
        if callable(value) and not name.startswith("__"):
            setattr(OrganizationsResponse, name, value)


def reset() -> None:
    with _lock:
        _handshake_owner.clear()
        # moto keeps member -> management account links on the BackendDict, which its own reset
        # does not clear; a member of a deleted organisation would stay "in" it.
        _backends().master_accounts.clear()


# --------------------------------------------------------------------------- membership


def organization_of(account_id: str) -> org_models.FakeOrganization | None:
    """The organisation ``account_id`` belongs to (as management account or member), if any."""
    backends = _backends()
    owner = backends.master_accounts.get(account_id)
    if owner is not None:
        return backends[owner[0]][owner[1]].org
    return backends[account_id]["aws"].org


def management_backend(organization: org_models.FakeOrganization) -> org_models.OrganizationsBackend:
    return _org_backend(organization.master_account_id)


def is_member(account_id: str, organization: org_models.FakeOrganization) -> bool:
    found = organization_of(account_id)
    return found is not None and found.id == organization.id


def find_account(organization: org_models.FakeOrganization, account_id: str) -> Any:
    for account in management_backend(organization).accounts:
        if account.id == account_id:
            return account
    raise AccountNotFoundException()


def ou_by_arn(organization: org_models.FakeOrganization, arn: str) -> Any | None:
    for ou in management_backend(organization).ou:
        if ou.arn == arn:
            return ou
    return None


def accounts_under(organization: org_models.FakeOrganization, parent_id: str) -> set[str]:
    """Account ids in the OU (or root) ``parent_id`` and every OU below it."""
    backend = management_backend(organization)
    parents = {parent_id}
    changed = True
    while changed:
        changed = False
        for ou in backend.ou:
            if ou.parent_id in parents and ou.id not in parents:
                parents.add(ou.id)
                changed = True
    return {a.id for a in backend.accounts if a.parent_id in parents and a.status == "ACTIVE"}

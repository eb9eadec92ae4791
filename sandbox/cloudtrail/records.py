"""CloudTrail event records, built the way CloudTrail writes them.

Sources (AWS documentation): *CloudTrail record contents*, *CloudTrail userIdentity element*,
*sharedEventID example*, and SageMaker's *Logging Feature Store operations by using AWS
CloudTrail* (the ``PutRecord`` data event example: ``eventSource`` is
``sagemaker.amazonaws.com``, ``requestParameters`` holds only ``featureGroupName``,
``resources`` names the ``AWS::SageMaker::FeatureGroup``, ``managementEvent`` is false and
``eventCategory`` is ``Data``).

A :class:`Call` is one API request; :meth:`Call.records` gives the record each recipient
account receives. A call on another account's resource reaches both accounts with the same
``sharedEventID`` and different ``eventID`` / ``recipientAccountId``; the resource owner's copy
identifies the caller only as ``{"type": "AWSAccount", "principalId", "accountId"}`` (the
caller's ARN and access key stay in the caller's own copy).

Field order follows AWS's examples. Timestamps are ``YYYY-MM-DDTHH:MM:SSZ``; dates inside
``responseElements`` use the Java-style ``"Mar 1, 2024, 10:00:00 AM"`` CloudTrail writes there.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

UTC = dt.UTC

FEATURE_GROUP_TYPE = "AWS::SageMaker::FeatureGroup"
SAGEMAKER = "sagemaker.amazonaws.com"
RAM = "ram.amazonaws.com"
STS = "sts.amazonaws.com"

# Feature Store data-plane operations (data events when a trail selects them).
DATA_OPERATIONS = ("GetRecord", "BatchGetRecord", "PutRecord", "DeleteRecord")
WRITE_DATA_OPERATIONS = ("PutRecord", "DeleteRecord")
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Search", "BatchGet", "Query", "Lookup", "Head")

BOTO3_UA = (
    "Boto3/1.34.{p} md/Botocore#1.34.{p} ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#adaptive Botocore/1.34.{p}"
)
CLI_UA = "aws-cli/2.15.{p} Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/{cmd}"
JAVA_UA = "aws-sdk-java/2.25.{p} Linux/5.10.219 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
CONSOLE_UA = "AWS Internal"


def iso(when: dt.datetime) -> str:
    """CloudTrail's ``eventTime`` format."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def java_date(when: dt.datetime) -> str:
    """How CloudTrail renders dates inside ``responseElements`` (e.g. STS ``expiration``)."""
    when = when.astimezone(UTC)
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


@functools.lru_cache(maxsize=65536)
def _token(*parts: str, length: int) -> str:
    """A stable upper-case alphanumeric id (AWS unique ids look like ``AROA`` + 17 of these)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().rstrip("=")[:length]


def new_uuid(rng: random.Random) -> str:
    """A random (version 4) UUID from ``rng``: deterministic when ``rng`` is seeded."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def is_read_only(event_name: str) -> bool:
    return event_name.startswith(READ_ONLY_PREFIXES)


# --------------------------------------------------------------------------- principals


@dataclass(frozen=True)
class Principal:
    """Who makes a call: the ``userIdentity`` CloudTrail writes for them.

    ``kind`` is ``AssumedRole`` (``name`` = role, ``session`` = session name, ``path`` = role
    path), ``IAMUser`` (``name`` = user), ``FederatedUser`` (``name`` = federated name,
    ``issuer`` = the IAM user that called GetFederationToken) or ``AWSService`` (``name`` =
    the service principal, e.g. ``sagemaker.amazonaws.com``).
    """

    kind: str
    account_id: str
    name: str
    session: str = ""
    path: str = "/"
    issuer: str = ""
    user_agent: str = ""
    source_ip: str = ""
    console: bool = False
    label: str = ""
    session_hours: int = 1  # how long its temporary credentials live (new access key after)
    # Real values, when the principal comes from a real request to the sandbox (the recorder).
    fixed_unique_id: str = ""
    fixed_access_key: str = ""
    fixed_created: dt.datetime | None = None

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self.path}{self.name}"

    @property
    def arn(self) -> str:
        if self.kind == "AssumedRole":
            return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{self.session}"
        if self.kind == "IAMUser":
            return f"arn:aws:iam::{self.account_id}:user/{self.name}"
        if self.kind == "FederatedUser":
            return f"arn:aws:sts::{self.account_id}:federated-user/{self.name}"
        return self.name  # AWSService

    @property
    def unique_id(self) -> str:
        """The role's ``AROA…`` / user's ``AIDA…`` id (stable for the principal)."""
        if self.fixed_unique_id:
            return self.fixed_unique_id
        if self.kind == "AssumedRole":
            return "AROA" + _token(self.account_id, "role", self.name, length=17)
        if self.kind == "FederatedUser":
            return "AIDA" + _token(self.account_id, "user", self.issuer, length=17)
        return "AIDA" + _token(self.account_id, "user", self.name, length=17)

    @property
    def principal_id(self) -> str:
        if self.kind == "AssumedRole":
            return f"{self.unique_id}:{self.session}"
        if self.kind == "FederatedUser":
            return f"{self.account_id}:{self.name}"
        return self.unique_id

    def session_start(self, when: dt.datetime) -> dt.datetime:
        hours = max(1, self.session_hours)
        start = when.replace(minute=0, second=0, microsecond=0)
        return start - dt.timedelta(hours=start.hour % hours) + dt.timedelta(minutes=_minute(self.arn))

    def access_key(self, when: dt.datetime) -> str:
        if self.fixed_access_key:
            return self.fixed_access_key
        if self.kind == "IAMUser":
            return "AKIA" + _token(self.account_id, "key", self.name, length=16)
        start = self.session_start(when)
        if start > when:
            start -= dt.timedelta(hours=max(1, self.session_hours))
        return "ASIA" + _token(self.arn, iso(start), length=16)

    def identity(self, when: dt.datetime) -> dict[str, Any]:
        """The caller's own ``userIdentity`` (the copy its own account receives).

        The same dict is returned for every call of one credential session: treat it as
        read-only (records are serialised, never edited, after they are built).
        """
        if self.kind == "IAMUser" or self.fixed_access_key:
            return self._identity(when)
        hour = when.replace(minute=0, second=0, microsecond=0)
        return _cached_identity(self, hour, when.minute >= _minute(self.arn))

    def _identity(self, when: dt.datetime) -> dict[str, Any]:
        if self.kind == "AWSService":
            return {"type": "AWSService", "invokedBy": self.name}
        ident: dict[str, Any] = {
            "type": self.kind,
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key(when),
        }
        if self.kind == "IAMUser":
            ident["userName"] = self.name
            return ident
        start = self.fixed_created or self.session_start(when)
        if start > when:
            start -= dt.timedelta(hours=max(1, self.session_hours))
        if self.kind == "AssumedRole":
            issuer = {
                "type": "Role",
                "principalId": self.unique_id,
                "arn": self.role_arn,
                "accountId": self.account_id,
                "userName": self.name,
            }
        else:
            issuer = {
                "type": "IAMUser",
                "principalId": self.unique_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/{self.issuer}",
                "accountId": self.account_id,
                "userName": self.issuer,
            }
        ident["sessionContext"] = {
            "sessionIssuer": issuer,
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(start), "mfaAuthenticated": "false"},
        }
        return ident

    def as_seen_by_other_account(self) -> dict[str, Any]:
        """The ``userIdentity`` in the resource owner's copy of a cross-account call."""
        if self.kind == "AWSService":
            return {"type": "AWSService", "invokedBy": self.name}
        return {"type": "AWSAccount", "principalId": self.principal_id, "accountId": self.account_id}


@functools.lru_cache(maxsize=16384)
def _cached_identity(principal: Principal, hour: dt.datetime, after_offset: bool) -> dict[str, Any]:
    # Within one hour the session (and so the identity) changes only at the principal's minute.
    return principal._identity(hour + dt.timedelta(minutes=_minute(principal.arn) if after_offset else 0))


@functools.lru_cache(maxsize=4096)
def _minute(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 50


# --------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class FeatureGroupRef:
    arn: str
    name: str
    account_id: str
    region: str

    @classmethod
    def from_arn(cls, arn: str) -> FeatureGroupRef:
        # arn:aws:sagemaker:REGION:ACCOUNT:feature-group/NAME
        parts = arn.split(":", 5)
        return cls(arn=arn, name=parts[5].split("/", 1)[1], account_id=parts[4], region=parts[3])

    def resource(self) -> dict[str, str]:
        return {"accountId": self.account_id, "type": FEATURE_GROUP_TYPE, "ARN": self.arn}

    def reference_from(self, account_id: str) -> str:
        """What a caller passes as ``FeatureGroupName``: the name at home, the ARN from elsewhere."""
        return self.name if account_id == self.account_id else self.arn


# --------------------------------------------------------------------------- calls


@dataclass
class Call:
    """One API request and what CloudTrail knows about it."""

    when: dt.datetime
    principal: Principal
    event_source: str
    event_name: str
    region: str
    request: dict[str, Any] | None
    response: dict[str, Any] | None = None
    error: tuple[str, str] | None = None
    resources: list[dict[str, str]] = field(default_factory=list)
    resource_accounts: tuple[str, ...] = ()  # other accounts that also receive the event
    category: str = "Management"
    host: str | None = None
    read_only: bool | None = None
    event_version: str = "1.08"
    api_version: str | None = None
    additional: dict[str, Any] | None = None
    event_type: str = "AwsApiCall"

    def recipients(self) -> list[str]:
        accounts = [self.principal.account_id] if self.principal.kind != "AWSService" else []
        for account in self.resource_accounts:
            if account not in accounts:
                accounts.append(account)
        return accounts

    def records(self, rng: random.Random) -> list[dict[str, Any]]:
        """One record per recipient account; ``sharedEventID`` when there are several."""
        recipients = self.recipients()
        shared = new_uuid(rng) if len(recipients) > 1 else None
        request_id = new_uuid(rng)
        return [
            self._record(account, new_uuid(rng), request_id, shared, own=account == self.principal.account_id)
            for account in recipients
        ]

    def _record(self, recipient: str, event_id: str, request_id: str, shared: str | None, own: bool) -> dict:
        p = self.principal
        record: dict[str, Any] = {
            "eventVersion": self.event_version,
            "userIdentity": p.identity(self.when) if own else p.as_seen_by_other_account(),
            "eventTime": iso(self.when),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": p.source_ip or p.name,
            "userAgent": p.user_agent or p.name,
        }
        if self.error:
            record["errorCode"], record["errorMessage"] = self.error
        record["requestParameters"] = self.request
        record["responseElements"] = None if self.error else self.response
        if self.additional:
            record["additionalEventData"] = self.additional
        record["requestID"] = request_id
        record["eventID"] = event_id
        record["readOnly"] = is_read_only(self.event_name) if self.read_only is None else self.read_only
        if self.resources:
            record["resources"] = self.resources
        record["eventType"] = self.event_type
        if self.api_version:
            record["apiVersion"] = self.api_version
        record["managementEvent"] = self.category == "Management"
        record["recipientAccountId"] = recipient
        if shared:
            record["sharedEventID"] = shared
        record["eventCategory"] = self.category
        if self.host and p.kind != "AWSService":
            record["tlsDetails"] = {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": self.host,
            }
        if p.console:
            record["sessionCredentialFromConsole"] = "true"
        return record


# --------------------------------------------------------------------------- API by API


def access_denied(principal: Principal, action: str, resource: str, *, policy: str = "resource-based") -> tuple:
    """``(errorCode, errorMessage)`` for a call IAM refused, naming the caller.

    The Feature Store runtime answers ``AccessForbidden`` (its API's error, as the sandbox's
    runtime does); SageMaker's control plane denials are logged as ``AccessDenied``. An
    ingester has to treat every ``AccessDenied*`` / ``AccessForbidden`` code as denied.
    """
    code = "AccessForbidden" if action.split(":")[-1] in DATA_OPERATIONS else "AccessDenied"
    return (
        code,
        f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} "
        f"because no {policy} policy allows the {action} action",
    )


def feature_store_data_call(
    when: dt.datetime,
    principal: Principal,
    operation: str,
    groups: list[FeatureGroupRef],
    *,
    error: tuple[str, str] | None = None,
    version: str = "1.09",
) -> Call:
    """GetRecord / BatchGetRecord / PutRecord / DeleteRecord on one or more feature groups.

    As the SageMaker guide's example: ``requestParameters`` carries the group reference only
    (record identifiers and values are not logged); ``resources`` lists every group touched.
    """
    caller = principal.account_id
    region = groups[0].region
    if operation == "BatchGetRecord":
        request: dict[str, Any] = {"identifiers": [{"featureGroupName": g.reference_from(caller)} for g in groups]}
    else:
        request = {"featureGroupName": groups[0].reference_from(caller)}
    return Call(
        when=when,
        principal=principal,
        event_source=SAGEMAKER,
        event_name=operation,
        region=region,
        request=request,
        response=None,
        error=error,
        resources=[g.resource() for g in groups],
        resource_accounts=tuple(dict.fromkeys(g.account_id for g in groups if g.account_id != caller)),
        category="Data",
        host=f"featurestore-runtime.sagemaker.{region}.amazonaws.com",
        read_only=operation not in WRITE_DATA_OPERATIONS,
        event_version=version,
    )


def sagemaker_call(
    when: dt.datetime,
    principal: Principal,
    operation: str,
    region: str,
    request: dict[str, Any] | None,
    *,
    response: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    owner_account: str | None = None,
    version: str = "1.08",
) -> Call:
    """A SageMaker control-plane (management) event; ``owner_account`` for cross-account ARNs."""
    others = (owner_account,) if owner_account and owner_account != principal.account_id else ()
    return Call(
        when=when,
        principal=principal,
        event_source=SAGEMAKER,
        event_name=operation,
        region=region,
        request=request,
        response=response,
        error=error,
        resource_accounts=others,
        host=f"api.sagemaker.{region}.amazonaws.com",
        event_version=version,
    )


def describe_feature_group(when: dt.datetime, principal: Principal, group: FeatureGroupRef, **kw: Any) -> Call:
    return sagemaker_call(
        when,
        principal,
        "DescribeFeatureGroup",
        group.region,
        {"featureGroupName": group.reference_from(principal.account_id)},
        owner_account=group.account_id,
        **kw,
    )


def describe_feature_metadata(
    when: dt.datetime, principal: Principal, group: FeatureGroupRef, feature: str, **kw: Any
) -> Call:
    return sagemaker_call(
        when,
        principal,
        "DescribeFeatureMetadata",
        group.region,
        {"featureGroupName": group.reference_from(principal.account_id), "featureName": feature},
        owner_account=group.account_id,
        **kw,
    )


def update_feature_metadata(
    when: dt.datetime,
    principal: Principal,
    group: FeatureGroupRef,
    feature: str,
    *,
    description: str | None = None,
    parameters: dict[str, str] | None = None,
    **kw: Any,
) -> Call:
    request: dict[str, Any] = {"featureGroupName": group.reference_from(principal.account_id), "featureName": feature}
    if description is not None:
        request["description"] = description
    if parameters:
        request["parameterAdditions"] = [{"key": k, "value": v} for k, v in parameters.items()]
    return sagemaker_call(
        when, principal, "UpdateFeatureMetadata", group.region, request, owner_account=group.account_id, **kw
    )


def search(
    when: dt.datetime,
    principal: Principal,
    region: str,
    resource: str = "FeatureGroup",
    *,
    expression: dict[str, Any] | None = None,
    cross_account: bool = False,
    next_token: str | None = None,
    **kw: Any,
) -> Call:
    request: dict[str, Any] = {"resource": resource}
    if expression:
        request["searchExpression"] = expression
    request["maxResults"] = 100
    if next_token:
        request["nextToken"] = next_token
    if cross_account:
        request["crossAccountFilterOption"] = "CrossAccount"
    return sagemaker_call(when, principal, "Search", region, request, **kw)


def assume_role(
    when: dt.datetime,
    principal: Principal,
    role_arn: str,
    session_name: str,
    region: str,
    *,
    external_id: str | None = None,
    rng: random.Random,
    error: tuple[str, str] | None = None,
) -> Call:
    """STS AssumeRole; the role's account receives it too when it is another account's role."""
    role_account = role_arn.split(":")[4]
    request: dict[str, Any] = {"roleArn": role_arn, "roleSessionName": session_name, "durationSeconds": 3600}
    if external_id:
        request["externalId"] = external_id
    role_name = role_arn.rsplit("/", 1)[-1]
    role_id = "AROA" + _token(role_account, "role", role_name, length=17)
    response = {
        "credentials": {
            "accessKeyId": "ASIA" + _token(role_arn, session_name, iso(when), length=16),
            "sessionToken": base64.b64encode(rng.randbytes(48)).decode(),
            "expiration": java_date(when + dt.timedelta(hours=1)),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{role_id}:{session_name}",
            "arn": f"arn:aws:sts::{role_account}:assumed-role/{role_name}/{session_name}",
        },
    }
    return Call(
        when=when,
        principal=principal,
        event_source=STS,
        event_name="AssumeRole",
        region=region,
        request=request,
        response=response,
        error=error,
        resources=[{"accountId": role_account, "type": "AWS::IAM::Role", "ARN": role_arn}],
        resource_accounts=(role_account,),
        host=f"sts.{region}.amazonaws.com",
        read_only=True,
        event_version="1.08",
    )


def ram_call(
    when: dt.datetime,
    principal: Principal,
    operation: str,
    region: str,
    request: dict[str, Any] | None,
    *,
    response: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    version: str = "1.08",
) -> Call:
    return Call(
        when=when,
        principal=principal,
        event_source=RAM,
        event_name=operation,
        region=region,
        request=request,
        response=response,
        error=error,
        host=f"ram.{region}.amazonaws.com",
        event_version=version,
    )


RAM_PERMISSIONS = {
    "ReadOnly": "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerFeatureGroupReadOnly",
    "ReadWrite": "arn:aws:ram::aws:permission/AWSRAMPermissionSagemakerFeatureGroupReadWrite",
    "Admin": "arn:aws:ram::aws:permission/AWSRAMPermissionSagemakerFeatureGroupAdmin",
}


def create_resource_share(
    when: dt.datetime,
    principal: Principal,
    group: FeatureGroupRef,
    consumer_account: str,
    permission: str,
    *,
    rng: random.Random,
    share_arn: str = "",
    name: str = "",
    external: bool = False,
) -> Call:
    name = name or f"{group.name}-{consumer_account}"
    client_token = new_uuid(rng)
    share_arn = share_arn or f"arn:aws:ram:{group.region}:{group.account_id}:resource-share/{new_uuid(rng)}"
    stamp = java_date(when)
    request = {
        "name": name,
        "resourceArns": [group.arn],
        "principals": [consumer_account],
        "permissionArns": [RAM_PERMISSIONS.get(permission, RAM_PERMISSIONS["ReadOnly"])],
        "allowExternalPrincipals": external,
        "clientToken": client_token,
    }
    response = {
        "resourceShare": {
            "resourceShareArn": share_arn,
            "name": name,
            "owningAccountId": group.account_id,
            "allowExternalPrincipals": external,
            "status": "ACTIVE",
            "creationTime": stamp,
            "lastUpdatedTime": stamp,
            "featureSet": "STANDARD",
        },
        "clientToken": client_token,
    }
    return ram_call(when, principal, "CreateResourceShare", group.region, request, response=response)


def associate_resource_share(
    when: dt.datetime, principal: Principal, group: FeatureGroupRef, share_arn: str, *, rng: random.Random
) -> Call:
    """Adding a group to an existing share (one share per owner, Region, consumer and level)."""
    client_token = new_uuid(rng)
    request = {"resourceShareArn": share_arn, "resourceArns": [group.arn], "clientToken": client_token}
    response = {
        "resourceShareAssociations": [
            {
                "resourceShareArn": share_arn,
                "associatedEntity": group.arn,
                "associationType": "RESOURCE",
                "status": "ASSOCIATING",
                "creationTime": java_date(when),
                "lastUpdatedTime": java_date(when),
                "external": False,
            }
        ],
        "clientToken": client_token,
    }
    return ram_call(when, principal, "AssociateResourceShare", group.region, request, response=response)


def accept_resource_share_invitation(
    when: dt.datetime,
    principal: Principal,
    invitation_arn: str,
    share_arn: str,
    share_name: str,
    sender: str,
    region: str,
) -> Call:
    """The consumer's admin accepting a share from outside the organisation."""
    request = {"resourceShareInvitationArn": invitation_arn}
    response = {
        "resourceShareInvitation": {
            "resourceShareInvitationArn": invitation_arn,
            "resourceShareName": share_name,
            "resourceShareArn": share_arn,
            "senderAccountId": sender,
            "receiverAccountId": principal.account_id,
            "invitationTimestamp": java_date(when - dt.timedelta(minutes=40)),
            "status": "ACCEPTED",
        }
    }
    return ram_call(when, principal, "AcceptResourceShareInvitation", region, request, response=response)

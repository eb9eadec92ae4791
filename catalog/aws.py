"""The AWS gateway for the catalog: the only module here that talks to boto3.

Everything it returns is a frozen dataclass; every botocore error leaves it
as one of Pantry's `AwsError` subclasses. Sessions into owner accounts come
from STS AssumeRole with the account's role ARN and ExternalId and are cached
until shortly before their credentials expire. The endpoint is botocore's
standard `AWS_ENDPOINT_URL` setting, so the sandbox needs no special branch.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config
from django.conf import settings

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class AwsError(Exception):
    """An AWS call failed. `code` is AWS's error code, `operation` the API call."""

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation
        self.message = message

    def __str__(self) -> str:
        prefix = f"{self.operation}: " if self.operation else ""
        code = f"{self.code}: " if self.code else ""
        return f"{prefix}{code}{self.message}"


class AwsThrottled(AwsError):
    """Still throttled after botocore's retries."""


class AwsAccessDenied(AwsError):
    """The role cannot be assumed, or it may not make this call."""


class AwsNotFound(AwsError):
    """The named resource does not exist."""


class AwsInvalidRequest(AwsError):
    """AWS rejected the request's parameters."""


class AwsUnavailable(AwsError):
    """AWS (or the configured endpoint) could not be reached."""


_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
}
_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
}
_NOT_FOUND_CODES = {"ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NoSuchKey"}
_INVALID_CODES = {"ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterException"}


def translate_error(exc: Exception, operation: str = "") -> AwsError:
    """Map a botocore exception to Pantry's error classes."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "") or ""
        message = error.get("Message", "") or str(exc)
        op = operation or getattr(exc, "operation_name", "") or ""
        if code in _THROTTLE_CODES:
            return AwsThrottled(message, code=code, operation=op)
        if code in _DENIED_CODES:
            return AwsAccessDenied(message, code=code, operation=op)
        if code in _NOT_FOUND_CODES:
            return AwsNotFound(message, code=code, operation=op)
        if code in _INVALID_CODES:
            return AwsInvalidRequest(message, code=code, operation=op)
        return AwsError(message, code=code, operation=op)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AwsAccessDenied(
            "No AWS credentials are configured for Pantry itself.", code="NoCredentials", operation=operation
        )
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError)):
        return AwsUnavailable(str(exc), code="EndpointConnectionError", operation=operation)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsError(str(exc), code=type(exc).__name__, operation=operation)
    raise exc


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------


def client_config() -> Config:
    # Adaptive mode adds client-side rate limiting on top of standard retries,
    # which is what a sync hammering Search for a large account wants.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html
    return Config(
        retries={"mode": "adaptive", "max_attempts": settings.PANTRY_AWS_MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=30,
    )


@dataclass(frozen=True)
class AccountRole:
    account_id: str
    role_arn: str
    external_id: str


@dataclass
class _CachedCredentials:
    access_key: str
    secret_key: str
    token: str
    expiration: datetime


# STS credentials last an hour by default; refreshing five minutes early keeps
# a long sync from running into ExpiredToken half-way through.
_REFRESH_MARGIN = timedelta(minutes=5)
_credentials_cache: dict[tuple[str, str], _CachedCredentials] = {}
_credentials_lock = threading.Lock()


# One boto3 session for the process: creating a session per account would
# reload botocore's service models (hundreds of milliseconds for SageMaker)
# on every sync. Account credentials are passed per client instead.
_shared_session: boto3.Session | None = None
_session_lock = threading.Lock()


def _base_session() -> boto3.Session:
    global _shared_session
    with _session_lock:
        if _shared_session is None:
            _shared_session = boto3.Session(region_name=settings.AWS_DEFAULT_REGION)
        return _shared_session


def clear_credentials_cache() -> None:
    global _shared_session
    with _credentials_lock:
        _credentials_cache.clear()
    with _session_lock:
        # The endpoint and Pantry's own credentials are read when the session
        # is made; tests that change them start afresh.
        _shared_session = None


@dataclass(frozen=True)
class AccountSession:
    """Temporary credentials inside one account and region; makes boto3 clients."""

    access_key: str
    secret_key: str
    token: str
    region: str

    def client(self, service: str, config: Config | None = None) -> Any:
        base = _base_session()
        with _session_lock:  # client creation on a shared session is not thread-safe
            return base.client(
                service,
                region_name=self.region,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                aws_session_token=self.token,
                config=config or client_config(),
            )


class CallCounter:
    """Counts AWS API calls by operation name (retries are not separate calls)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._on_call)
        return client

    def _on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[model.name] += 1

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.counts.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())


def assume_role_session(role: AccountRole, region: str, *, counter: CallCounter | None = None) -> AccountSession:
    """Credentials inside `role.account_id`, via STS AssumeRole (cached until near expiry)."""
    key = (role.role_arn, role.external_id)
    now = datetime.now(UTC)
    with _credentials_lock:
        cached = _credentials_cache.get(key)
    if cached is None or cached.expiration - _REFRESH_MARGIN <= now:
        base = _base_session()
        with _session_lock:
            sts = base.client("sts", config=client_config())
        if counter:
            counter.attach(sts)
        try:
            response = sts.assume_role(
                RoleArn=role.role_arn,
                RoleSessionName=settings.PANTRY_ROLE_SESSION_NAME,
                ExternalId=role.external_id,
            )
        except Exception as exc:  # noqa: BLE001 - translated, never swallowed
            raise translate_error(exc, "AssumeRole") from exc
        creds = response["Credentials"]
        cached = _CachedCredentials(
            access_key=creds["AccessKeyId"],
            secret_key=creds["SecretAccessKey"],
            token=creds["SessionToken"],
            expiration=creds["Expiration"],
        )
        with _credentials_lock:
            _credentials_cache[key] = cached
    return AccountSession(access_key=cached.access_key, secret_key=cached.secret_key, token=cached.token, region=region)


# ---------------------------------------------------------------------------
# Feature Store records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDefinition:
    name: str
    type: str
    collection_type: str = ""
    collection_config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureGroupRecord:
    arn: str
    name: str
    record_identifier_feature: str
    event_time_feature: str
    description: str
    status: str
    offline_store_status: str
    online_store_enabled: bool
    online_store_config: dict
    offline_store_enabled: bool
    offline_s3_uri: str
    glue_database: str
    glue_table: str
    table_format: str
    role_arn: str
    created_at: datetime | None
    modified_at: datetime | None
    # None when the listing did not carry them (then a Describe fills them in).
    features: tuple[FeatureDefinition, ...] | None
    tags: dict[str, str] | None


@dataclass(frozen=True)
class FeatureMetadataRecord:
    group_arn: str
    group_name: str
    name: str
    type: str
    description: str
    parameters: dict[str, str]
    created_at: datetime | None
    modified_at: datetime | None


def _feature_definitions(raw: list[dict]) -> tuple[FeatureDefinition, ...]:
    return tuple(
        FeatureDefinition(
            name=item["FeatureName"],
            type=item.get("FeatureType", ""),
            collection_type=item.get("CollectionType", "") or "",
            collection_config=item.get("CollectionConfig", {}) or {},
        )
        for item in raw
    )


def _tags(raw: list[dict] | None) -> dict[str, str] | None:
    if raw is None:
        return None
    return {item["Key"]: item.get("Value", "") for item in raw}


def feature_group_record(raw: dict) -> FeatureGroupRecord:
    """Build a record from a DescribeFeatureGroup response or a Search result item."""
    online = raw.get("OnlineStoreConfig") or {}
    offline = raw.get("OfflineStoreConfig") or {}
    catalog = offline.get("DataCatalogConfig") or {}
    s3 = offline.get("S3StorageConfig") or {}
    definitions = raw.get("FeatureDefinitions")
    return FeatureGroupRecord(
        arn=raw["FeatureGroupArn"],
        name=raw["FeatureGroupName"],
        record_identifier_feature=raw.get("RecordIdentifierFeatureName", ""),
        event_time_feature=raw.get("EventTimeFeatureName", ""),
        description=raw.get("Description", "") or "",
        status=raw.get("FeatureGroupStatus", "") or "",
        offline_store_status=(raw.get("OfflineStoreStatus") or {}).get("Status", ""),
        online_store_enabled=bool(online.get("EnableOnlineStore")),
        online_store_config=_jsonable(online),
        offline_store_enabled=bool(offline),
        offline_s3_uri=s3.get("ResolvedOutputS3Uri") or s3.get("S3Uri", "") or "",
        glue_database=catalog.get("Database", "") or "",
        glue_table=catalog.get("TableName", "") or "",
        table_format=offline.get("TableFormat", "") or "",
        role_arn=raw.get("RoleArn", "") or "",
        created_at=raw.get("CreationTime"),
        modified_at=raw.get("LastModifiedTime"),
        features=_feature_definitions(definitions) if definitions is not None else None,
        tags=_tags(raw.get("Tags")),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def feature_metadata_record(raw: dict) -> FeatureMetadataRecord:
    return FeatureMetadataRecord(
        group_arn=raw["FeatureGroupArn"],
        group_name=raw.get("FeatureGroupName", ""),
        name=raw["FeatureName"],
        type=raw.get("FeatureType", ""),
        description=raw.get("Description", "") or "",
        parameters={p["Key"]: p.get("Value", "") for p in raw.get("Parameters") or []},
        created_at=raw.get("CreationTime"),
        modified_at=raw.get("LastModifiedTime"),
    )


class _SageMakerGateway:
    """A SageMaker client in one account and region, counting calls and translating errors."""

    def __init__(self, session: AccountSession | boto3.Session, *, counter: CallCounter | None = None) -> None:
        self.counter = counter or CallCounter()
        self.client = self.counter.attach(session.client("sagemaker", config=client_config()))

    def _call(self, operation: str, **params: Any) -> dict:
        method = getattr(self.client, _snake(operation))
        try:
            return method(**params)
        except Exception as exc:  # noqa: BLE001 - translated, never swallowed
            raise translate_error(exc, operation) from exc


class FeatureStoreGateway(_SageMakerGateway):
    """SageMaker Feature Store calls for one account and region."""

    # Search returns at most 100 results a page.
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Search.html
    SEARCH_PAGE_SIZE = 100

    def _search(self, resource: str, filters: list[dict] | None = None) -> Iterator[dict]:
        params: dict[str, Any] = {"Resource": resource, "MaxResults": self.SEARCH_PAGE_SIZE}
        if filters:
            params["SearchExpression"] = {"Filters": filters}
        while True:
            page = self._call("Search", **params)
            yield from page.get("Results", [])
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    def search_feature_groups(self) -> Iterator[FeatureGroupRecord]:
        """Every feature group of the account in this region, 100 a call."""
        for item in self._search("FeatureGroup"):
            if "FeatureGroup" in item:
                yield feature_group_record(item["FeatureGroup"])

    def search_feature_metadata(self, *, modified_since: datetime | None = None) -> Iterator[FeatureMetadataRecord]:
        """Feature metadata of every group, optionally only what changed since a time."""
        filters = None
        if modified_since is not None:
            filters = [
                {"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo", "Value": modified_since.isoformat()}
            ]
        for item in self._search("FeatureMetadata", filters):
            if "FeatureMetadata" in item:
                yield feature_metadata_record(item["FeatureMetadata"])

    def list_feature_group_names(self) -> Iterator[str]:
        params: dict[str, Any] = {"MaxResults": 100}
        while True:
            page = self._call("ListFeatureGroups", **params)
            for summary in page.get("FeatureGroupSummaries", []):
                yield summary["FeatureGroupName"]
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    def describe_feature_group(self, name_or_arn: str) -> FeatureGroupRecord:
        """DescribeFeatureGroup, following NextToken through all feature definitions."""
        response = self._call("DescribeFeatureGroup", FeatureGroupName=name_or_arn)
        definitions = list(response.get("FeatureDefinitions", []))
        token = response.get("NextToken")
        while token:
            page = self._call("DescribeFeatureGroup", FeatureGroupName=name_or_arn, NextToken=token)
            definitions.extend(page.get("FeatureDefinitions", []))
            token = page.get("NextToken")
        response = {**response, "FeatureDefinitions": definitions}
        return feature_group_record(response)

    def list_tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        params: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
        while True:
            page = self._call("ListTags", **params)
            tags.update({t["Key"]: t.get("Value", "") for t in page.get("Tags", [])})
            token = page.get("NextToken")
            if not token:
                return tags
            params["NextToken"] = token

    def describe_feature_metadata(self, group: str, feature: str) -> FeatureMetadataRecord:
        return feature_metadata_record(
            self._call("DescribeFeatureMetadata", FeatureGroupName=group, FeatureName=feature)
        )

    def update_feature_metadata(
        self,
        *,
        group: str,
        feature: str,
        description: str,
        parameter_additions: dict[str, str],
        parameter_removals: list[str],
    ) -> None:
        params: dict[str, Any] = {"FeatureGroupName": group, "FeatureName": feature, "Description": description}
        if parameter_additions:
            params["ParameterAdditions"] = [{"Key": k, "Value": v} for k, v in parameter_additions.items()]
        if parameter_removals:
            params["ParameterRemovals"] = list(parameter_removals)
        self._call("UpdateFeatureMetadata", **params)


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def known_regions() -> frozenset[str]:
    """Regions where SageMaker exists, from botocore's bundled endpoint data (no network)."""
    session = boto3.Session()
    regions: set[str] = set()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        regions.update(session.get_available_regions("sagemaker", partition_name=partition))
    return frozenset(regions)


# ---------------------------------------------------------------------------
# SageMaker ML lineage
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineageEntity:
    """An Artifact, Context or Action as ListContexts/Describe* return it."""

    arn: str
    lineage_type: str  # "Artifact", "Context" or "Action"
    type: str  # e.g. "DataSet", "Model", "FeatureGroup", "Endpoint", "ProcessingJob"
    name: str
    source_uri: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageVertex:
    arn: str
    type: str
    lineage_type: str


@dataclass(frozen=True)
class LineageAssociation:
    source_arn: str
    destination_arn: str
    association_type: str
    source_type: str = ""
    destination_type: str = ""
    source_name: str = ""
    destination_name: str = ""


@dataclass(frozen=True)
class LineageQueryResult:
    vertices: tuple[LineageVertex, ...]
    edges: tuple[LineageAssociation, ...]


def lineage_type_of_arn(arn: str) -> str:
    """ "Artifact", "Context", "Action" or "TrialComponent", read from the ARN's resource part."""
    resource = arn.split(":", 5)[-1]
    prefix = resource.split("/", 1)[0]
    return {
        "artifact": "Artifact",
        "context": "Context",
        "action": "Action",
        "experiment-trial-component": "TrialComponent",
    }.get(prefix, "")


def _lineage_entity(raw: dict, lineage_type: str) -> LineageEntity:
    return LineageEntity(
        arn=raw[f"{lineage_type}Arn"],
        lineage_type=lineage_type,
        type=raw.get(f"{lineage_type}Type", "") or "",
        name=raw.get(f"{lineage_type}Name", "") or "",
        source_uri=(raw.get("Source") or {}).get("SourceUri", "") or "",
        properties=dict(raw.get("Properties") or {}),
    )


class LineageGateway(_SageMakerGateway):
    """SageMaker ML lineage calls for one account and region.

    QueryLineage takes one start ARN per call (StartArns has at most one
    member) and returns at most 50 vertices a page; the List* calls return at
    most 100 items a page. Every method follows NextToken to the end.
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_QueryLineage.html
    """

    LIST_PAGE_SIZE = 100
    QUERY_PAGE_SIZE = 50
    MAX_DEPTH = 10  # QueryLineage's own upper bound on MaxDepth

    def _pages(self, operation: str, **params: Any) -> Iterator[dict]:
        while True:
            page = self._call(operation, **params)
            yield page
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    def list_contexts(self, *, context_type: str = "", source_uri: str = "") -> Iterator[LineageEntity]:
        params: dict[str, Any] = {"MaxResults": self.LIST_PAGE_SIZE}
        if context_type:
            params["ContextType"] = context_type
        if source_uri:
            params["SourceUri"] = source_uri
        for page in self._pages("ListContexts", **params):
            for raw in page.get("ContextSummaries", []):
                yield _lineage_entity(raw, "Context")

    def feature_group_contexts(self) -> Iterator[LineageEntity]:
        """Every lineage context of type FeatureGroup; Source.SourceUri is the group's ARN."""
        return self.list_contexts(context_type="FeatureGroup")

    def describe_artifact(self, arn: str) -> LineageEntity:
        return _lineage_entity(self._call("DescribeArtifact", ArtifactArn=arn), "Artifact")

    def describe_context(self, name_or_arn: str) -> LineageEntity:
        # DescribeContext takes the context *name*; the ARN's last part is it.
        name = name_or_arn.rsplit("/", 1)[-1]
        return _lineage_entity(self._call("DescribeContext", ContextName=name), "Context")

    def query_lineage(
        self, *, start_arn: str, direction: str = "Both", max_depth: int = 5, include_edges: bool = True
    ) -> LineageQueryResult:
        params: dict[str, Any] = {
            "StartArns": [start_arn],
            "Direction": direction,
            "IncludeEdges": include_edges,
            "MaxDepth": min(max(max_depth, 1), self.MAX_DEPTH),
            "MaxResults": self.QUERY_PAGE_SIZE,
        }
        vertices: dict[str, LineageVertex] = {}
        edges: dict[tuple[str, str], LineageAssociation] = {}
        for page in self._pages("QueryLineage", **params):
            for raw in page.get("Vertices", []):
                vertices[raw["Arn"]] = LineageVertex(
                    arn=raw["Arn"], type=raw.get("Type", "") or "", lineage_type=raw.get("LineageType", "") or ""
                )
            for raw in page.get("Edges", []):
                edges[(raw["SourceArn"], raw["DestinationArn"])] = LineageAssociation(
                    source_arn=raw["SourceArn"],
                    destination_arn=raw["DestinationArn"],
                    association_type=raw.get("AssociationType", "") or "",
                )
        return LineageQueryResult(vertices=tuple(vertices.values()), edges=tuple(edges.values()))

    def list_associations(
        self, *, source_arn: str = "", destination_arn: str = "", association_type: str = ""
    ) -> Iterator[LineageAssociation]:
        params: dict[str, Any] = {"MaxResults": self.LIST_PAGE_SIZE}
        if source_arn:
            params["SourceArn"] = source_arn
        if destination_arn:
            params["DestinationArn"] = destination_arn
        if association_type:
            params["AssociationType"] = association_type
        for page in self._pages("ListAssociations", **params):
            for raw in page.get("AssociationSummaries", []):
                yield LineageAssociation(
                    source_arn=raw["SourceArn"],
                    destination_arn=raw["DestinationArn"],
                    association_type=raw.get("AssociationType", "") or "",
                    source_type=raw.get("SourceType", "") or "",
                    destination_type=raw.get("DestinationType", "") or "",
                    source_name=raw.get("SourceName", "") or "",
                    destination_name=raw.get("DestinationName", "") or "",
                )

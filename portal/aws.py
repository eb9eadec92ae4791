"""Pantry's AWS edge: sessions into accounts, refreshable credentials, errors, call counting.

Every app's gateway module (catalog's Feature Store and lineage gateways,
sharing's RAM gateway, usage's S3 gateway) stands on this module and is the
only code that talks to boto3. The small API:

- `account_session(role, region, counter=...)` → an `AccountSession` inside
  the account (STS AssumeRole with the role's ExternalId); `.client(service)`
  makes a boto3 client on it. Credentials refresh themselves, so a long run
  never dies on `ExpiredToken`.
- `Gateway`: base class of the gateways; `_call` and `_pages` translate every
  botocore error into one of the `AwsError` classes below.
- `translate_error`, `error_summary` (the short phrase health pages show).
- `CallCounter`: AWS calls by operation, for SyncRun and the benchmarks.

The endpoint is botocore's standard `AWS_ENDPOINT_URL`, so production code has
no sandbox branch.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import boto3
import botocore.exceptions
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.configprovider import ConfiguredEndpointProvider
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from dateutil.tz import tzutc
from django.conf import settings

logger = logging.getLogger(__name__)

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


class AwsCredentialsError(AwsError):
    """AWS did not accept the credentials themselves (not a permissions problem)."""


class AwsCredentialsExpired(AwsCredentialsError):
    """The session token expired (or the request was signed too long ago)."""


class AwsCredentialsInvalid(AwsCredentialsError):
    """AWS does not know the access key or session token, or the signature is wrong."""


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
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
# The codes AWS SDKs treat as "refresh the credentials": query-protocol
# services (STS, IAM) and S3 say ExpiredToken, JSON-protocol services
# (SageMaker) ExpiredTokenException; RequestExpired is a signature older than
# the allowed skew.
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_INVALID_CREDENTIAL_CODES = {
    "InvalidClientTokenId",  # query protocol: unknown access key or token
    "UnrecognizedClientException",  # JSON protocol: the same
    "InvalidAccessKeyId",  # S3
    "InvalidToken",  # S3: malformed session token
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "AuthFailure",  # EC2-style query APIs
}
_NOT_FOUND_CODES = {"ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NoSuchKey"}
_INVALID_CODES = {"ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterException"}
_CLASS_BY_CODE: dict[str, type[AwsError]] = {
    **dict.fromkeys(_THROTTLE_CODES, AwsThrottled),
    **dict.fromkeys(_DENIED_CODES, AwsAccessDenied),
    **dict.fromkeys(_EXPIRED_CODES, AwsCredentialsExpired),
    **dict.fromkeys(_INVALID_CREDENTIAL_CODES, AwsCredentialsInvalid),
    **dict.fromkeys(_NOT_FOUND_CODES, AwsNotFound),
    **dict.fromkeys(_INVALID_CODES, AwsInvalidRequest),
}


def translate_error(exc: Exception, operation: str = "") -> AwsError:
    """Map a botocore exception to Pantry's error classes (anything else is re-raised)."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "") or ""
        message = error.get("Message", "") or str(exc)
        op = operation or getattr(exc, "operation_name", "") or ""
        return _CLASS_BY_CODE.get(code, AwsError)(message, code=code, operation=op)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AwsCredentialsInvalid(
            "No AWS credentials are configured for Pantry itself.", code="NoCredentials", operation=operation
        )
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError)):
        return AwsUnavailable(str(exc), code="EndpointConnectionError", operation=operation)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsError(str(exc), code=type(exc).__name__, operation=operation)
    raise exc


_SUMMARIES: list[tuple[type[AwsError], str]] = [
    (AwsCredentialsExpired, "credentials expired"),
    (AwsCredentialsInvalid, "invalid credentials"),
    (AwsAccessDenied, "access denied"),
    (AwsThrottled, "throttled by AWS"),
    (AwsUnavailable, "AWS unreachable"),
    (AwsNotFound, "not found"),
    (AwsInvalidRequest, "request rejected by AWS"),
]


def error_summary(code: str) -> str:
    """A short phrase for an AWS error code, as account health pages show it."""
    cls = _CLASS_BY_CODE.get(code)
    if code == "NoCredentials":
        cls = AwsCredentialsInvalid
    elif code == "EndpointConnectionError":
        cls = AwsUnavailable
    for klass, phrase in _SUMMARIES:
        if cls is not None and issubclass(cls, klass):
            return phrase
    return "failing"


# ---------------------------------------------------------------------------
# Client configuration
# ---------------------------------------------------------------------------

# Bounded per attempt, so that one call's worst case is known (the sync's
# stale-run threshold is chosen above it; see catalog/checks.py):
# max_attempts × (CONNECT + READ) + (max_attempts − 1) × the retry back-off cap.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 20
# botocore's standard and adaptive modes cap the exponential back-off at 20 s.
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
RETRY_BACKOFF_CAP_SECONDS = 20


def client_config(service: str = "", *, session: botocore.session.Session | None = None) -> Config:
    """Pantry's botocore configuration for a `service` client made from `session` (whose
    configuration decides whether an endpoint URL is set; a fresh default session if None)."""
    # Adaptive mode adds client-side rate limiting on top of standard retries,
    # which is what a sync hammering Search for a large account wants.
    # https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html
    config = Config(
        retries={"mode": "adaptive", "max_attempts": settings.PANTRY_AWS_MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    if service == "s3":
        # S3 API calls are signed with SigV4 either way; this makes presigned URLs SigV4 too
        # (botocore still presigns with SigV2 unless told, which S3 has deprecated).
        # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
        config = config.merge(Config(signature_version="s3v4"))
        if configured_endpoint_url(session or botocore.session.Session(), service) is None:
            # botocore presigns for S3's legacy global host (bucket.s3.amazonaws.com) unless the
            # addressing style is "virtual", while API calls go to s3.<region>.amazonaws.com.
            # Buckets in regions launched after 2019-03-20 (af-south-1, ap-east-1, ...) cannot
            # be reached through the global host and young buckets answer it with 307s, so a
            # presigned GET would fail and fall back on every file. "virtual" gives the regional
            # virtual host; names that cannot be one (dotted names over HTTPS) stay path-style.
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
            # Not with an endpoint URL: "virtual" would put the bucket in front of its host.
            config = config.merge(Config(s3={"addressing_style": "virtual"}))
    return config


def configured_endpoint_url(session: botocore.session.Session, service: str) -> str | None:
    """The endpoint URL `session`'s configuration gives `service` clients (AWS_ENDPOINT_URL_<SERVICE>,
    AWS_ENDPOINT_URL, the shared config file), or None: AWS's own endpoints.

    botocore's own lookup, so the answer is the one its clients act on. The provider class is
    marked internal (tests/portal/test_aws.py pins its answers).
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
    """
    if session.get_config_variable("ignore_configured_endpoint_urls"):
        return None
    provider = ConfiguredEndpointProvider(
        full_config=session.full_config, scoped_config=session.get_scoped_config(), client_name=service
    )
    return provider.provide()


_MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_UTC = tzutc()
# Exactly the two forms (a 4-digit year: dateutil reads "26" as 2026, a plain int() as 0026).
_HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT")
_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")


def parse_aws_timestamp(value: Any) -> dt.datetime:
    """botocore's timestamp parser, with a fast path for the two forms AWS sends.

    botocore hands every timestamp to dateutil's general parser: ~15% of the CPU of an S3
    GetObject (its `Last-Modified` header: the download path's fallback, usage/aws.py), and a
    ListObjectsV2 page carries 1,000 `LastModified`s; the sync's Search pages carry several a group.
    `Fri, 27 Nov 2026 11:52:56 GMT` (HTTP headers, RFC 7231) and `2026-11-27T11:52:56.000Z`
    (XML bodies, ISO 8601 in UTC) are parsed directly into the same instant botocore returns,
    aware, in UTC; anything else goes to botocore.
    """
    if isinstance(value, str):
        try:
            if http := _HTTP_DATE.fullmatch(value):
                day, month, year, hour, minute, second = http.groups()
                return dt.datetime(
                    int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=_UTC
                )
            if _ISO_UTC.fullmatch(value):
                return dt.datetime.fromisoformat(value).replace(tzinfo=_UTC)
        except (ValueError, KeyError):
            pass
    return botocore.utils.parse_timestamp(value)


def worst_case_call_seconds(max_attempts: int | None = None) -> int:
    """The longest one AWS call can take with Pantry's timeouts and retries."""
    attempts = max_attempts or settings.PANTRY_AWS_MAX_ATTEMPTS
    return attempts * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + (attempts - 1) * RETRY_BACKOFF_CAP_SECONDS


# ---------------------------------------------------------------------------
# Counting calls
# ---------------------------------------------------------------------------

# The counter whose client last made a call on this thread. A credential
# refresh (AssumeRole) happens inside some client's call, on its thread, so
# it is counted where that call is counted.
_active = threading.local()


class CallCounter:
    """Counts AWS API calls by operation name (botocore's retries are not separate calls)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._on_call)
        return client

    def add(self, operation: str) -> None:
        with self._lock:
            self.counts[operation] += 1

    def _on_call(self, model: Any, **_: Any) -> None:
        count_credential_refreshes_on(self)
        self.add(model.name)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.counts.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())


def count_credential_refreshes_on(counter: CallCounter) -> None:
    """Count the AssumeRole of a credential refresh on this thread on `counter` from now on.

    An attached client's calls do this themselves (`before-call`); call it before anything else
    that signs with an account's credentials, such as `generate_presigned_url`, which fires no
    `before-call`: a refresh there would count on whichever counter's client called last.
    """
    _active.counter = counter


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRole:
    """The role Pantry assumes in an account, with the ExternalId its trust policy requires."""

    account_id: str
    role_arn: str
    # Shown to the account's owners and admins only (catalog.permissions.can_see_account_setup):
    # kept out of the repr, so a log line, a traceback or a debug page showing the role does not show it.
    external_id: str = field(repr=False)


# One botocore session for Pantry's own calls (STS) and one shared data
# loader: loading SageMaker's service model takes hundreds of milliseconds,
# and the loader caches it for every session that shares it.
_base_lock = threading.Lock()
_base: tuple[botocore.session.Session, boto3.Session] | None = None


def _base_sessions() -> tuple[botocore.session.Session, boto3.Session]:
    global _base
    with _base_lock:
        if _base is None:
            core = botocore.session.Session()
            _base = (core, boto3.Session(botocore_session=core, region_name=settings.AWS_DEFAULT_REGION))
        return _base


def _platform_client(service: str) -> Any:
    """A client with Pantry's own credentials (the default chain: instance role, environment)."""
    _, base = _base_sessions()
    with _base_lock:  # client creation on a shared session is not thread-safe
        return base.client(service, config=client_config(service))


class _AssumedRoleCredentials(RefreshableCredentials):
    """botocore's refreshable credentials, plus a refresh when AWS rejects them early.

    botocore refreshes on its own 15 minutes before the stated expiry (and
    blocks callers in the last 10). A session can still be rejected earlier —
    revoked, or a clock that disagrees — and then `refresh_after_rejection`
    assumes the role again at once.
    """

    def refresh_after_rejection(self, rejected_access_key: str) -> None:
        # The parent's lock and refresh routine, as its own `_refresh` uses them.
        with self._refresh_lock:
            if self._frozen_credentials.access_key != rejected_access_key:
                return  # another thread already replaced the rejected session
            self._protected_refresh(is_mandatory=True)


class _GivenCredentials(CredentialProvider):
    METHOD = "pantry-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _assume_role(role: AccountRole) -> dict[str, str]:
    """STS AssumeRole with the role's ExternalId, as botocore's refresh metadata.

    The default session lasts an hour; botocore renews it a quarter of an hour
    before it ends. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
    """
    sts = _platform_client("sts")
    counter = getattr(_active, "counter", None)
    try:
        response = sts.assume_role(
            RoleArn=role.role_arn,
            RoleSessionName=settings.PANTRY_ROLE_SESSION_NAME,
            ExternalId=role.external_id,
        )
    except Exception as exc:  # noqa: BLE001 - translated, never swallowed
        raise translate_error(exc, "AssumeRole") from exc
    finally:
        if counter is not None:
            counter.add("AssumeRole")
    creds = response["Credentials"]
    return {
        "access_key": creds["AccessKeyId"],
        "secret_key": creds["SecretAccessKey"],
        "token": creds["SessionToken"],
        "expiry_time": creds["Expiration"].isoformat(),
    }


class _AccountCredentials:
    """One account's refreshable credentials and the boto3 session that signs with them."""

    def __init__(self, role: AccountRole) -> None:
        self.role = role
        self.credentials = _AssumedRoleCredentials.create_from_metadata(
            metadata=_assume_role(role),
            refresh_using=functools.partial(_assume_role, role),
            method=_GivenCredentials.METHOD,
        )
        core = botocore.session.Session()
        core.register_component("data_loader", _base_sessions()[0].get_component("data_loader"))
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_aws_timestamp)
        core.register_component("credential_provider", CredentialResolver([_GivenCredentials(self.credentials)]))
        self.core = core
        self.session = boto3.Session(botocore_session=core)
        self.lock = threading.Lock()


_accounts_lock = threading.Lock()
_accounts: dict[tuple[str, str], _AccountCredentials] = {}


class SessionLike(Protocol):
    """What a gateway needs: clients counted by `counter` (tests pass a stubbed one)."""

    counter: CallCounter

    def client(self, service: str) -> Any: ...


@dataclass(frozen=True)
class AccountSession:
    """Pantry inside one account and region: makes counted, self-refreshing boto3 clients."""

    role: AccountRole
    region: str
    counter: CallCounter
    _account: _AccountCredentials

    def client(self, service: str) -> Any:
        account = self._account
        with account.lock:  # client creation on a shared session is not thread-safe
            client = account.session.client(
                service, region_name=self.region, config=client_config(service, session=account.core)
            )
        self.counter.attach(client)
        _retry_once_on_rejected_credentials(client, account)
        return client


def account_session(role: AccountRole, region: str, *, counter: CallCounter | None = None) -> AccountSession:
    """A session in `role.account_id`: AssumeRole now (or reuse this process's), refreshed as needed.

    Raises `AwsAccessDenied` when the role cannot be assumed (trust policy,
    wrong ExternalId) and the other `AwsError`s as translated.
    """
    counter = counter or CallCounter()
    key = (role.role_arn, role.external_id)
    with _accounts_lock:
        account = _accounts.get(key)
    if account is None:
        count_credential_refreshes_on(counter)
        account = _AccountCredentials(role)
        with _accounts_lock:
            account = _accounts.setdefault(key, account)
    return AccountSession(role=role, region=region, counter=counter, _account=account)


def clear_session_cache() -> None:
    """Forget every account session (and the base session, which reads the endpoint when made)."""
    global _base
    with _accounts_lock:
        _accounts.clear()
    with _base_lock:
        _base = None


def _retry_once_on_rejected_credentials(client: Any, account: _AccountCredentials) -> None:
    """When AWS says the session expired, assume the role again and retry the call once.

    Registered ahead of botocore's retry handler; botocore re-signs a retried
    request, so the retry carries the new credentials. Paginators and threads
    need nothing of their own.
    """
    credentials = account.credentials

    def remember_key(request: Any, **_: Any) -> None:
        request.context["pantry_access_key"] = credentials.get_frozen_credentials().access_key

    def needs_retry(response: Any, request_dict: dict, **_: Any) -> int | None:
        if response is None:
            return None
        code = (response[1].get("Error") or {}).get("Code", "")
        context = request_dict.get("context", {})
        if code not in _EXPIRED_CODES or context.get("pantry_refreshed"):
            return None
        context["pantry_refreshed"] = True
        logger.info("AWS rejected the session in %s as expired; assuming the role again", account.role.role_arn)
        credentials.refresh_after_rejection(context.get("pantry_access_key", ""))
        return 0  # retry at once

    client.meta.events.register("before-sign.*.*", remember_key)
    client.meta.events.register_first("needs-retry.*.*", needs_retry)


# ---------------------------------------------------------------------------
# Gateways
# ---------------------------------------------------------------------------


class Gateway:
    """Base of every service gateway: one client, counted calls, translated errors.

    Subclasses set `service` and return frozen dataclasses; nothing botocore
    leaves them.
    """

    service: ClassVar[str]

    def __init__(self, session: SessionLike) -> None:
        self.counter = session.counter
        self.client = session.client(self.service)

    def _call(self, operation: str, **params: Any) -> dict:
        method = getattr(self.client, _snake(operation))
        try:
            return method(**params)
        except Exception as exc:  # noqa: BLE001 - translated, never swallowed
            raise translate_error(exc, operation) from exc

    def _pages(self, operation: str, *, page_size: int | None = None, **params: Any) -> Iterator[dict]:
        """Every page of a paginated call, through botocore's paginator for it."""
        paginator = self.client.get_paginator(_snake(operation))
        config = {"PageSize": page_size} if page_size else {}
        pages = iter(paginator.paginate(**params, PaginationConfig=config))
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - translated, never swallowed
                raise translate_error(exc, operation) from exc
            yield page


def _snake(operation: str) -> str:
    return botocore.xform_name(operation)


@functools.cache
def service_regions(service: str) -> frozenset[str]:
    """Regions where `service` exists, from botocore's bundled endpoint data (no network)."""
    session = botocore.session.Session()
    regions: set[str] = set()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        regions.update(session.get_available_regions(service, partition_name=partition))
    return frozenset(regions)

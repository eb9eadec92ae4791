"""Turn real requests made to the sandbox into CloudTrail events.

The sandbox's WSGI app hands each SageMaker, RAM and STS request (and its response) to
:func:`records_for_request`; the CloudTrail service buffers the records and delivers them on
its next flush, through the trails' selectors like any other event. So Pantry's own calls --
its sync's Search / DescribeFeatureGroup, its RAM calls, its AssumeRole -- show up in the
trail files as they would in AWS, under the identity moto knows for the access key.

Feature Store runtime requests (``/FeatureGroup/…``, ``/BatchGetRecord``) become data events
shaped like the history's (``featureGroupName`` only, the groups as ``resources``), so a
consumer's real ``GetRecord`` through the sandbox reaches both accounts' trails.

Not recorded: requests carrying moto's ``x-moto-account-id`` header (the seed's and tests'
sandbox-administrator calls, which no AWS principal makes), the control plane, and services
other than SageMaker, RAM and STS (S3 data events are not selected by the demo's trails).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from .._common import credential_scope
from . import records as R

RECORDED_SERVICES = {"sagemaker": R.SAGEMAKER, "ram": R.RAM, "sts": R.STS}
_ARN_ACCOUNT_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
_rng = random.Random()
_rng_lock = threading.Lock()


def _now() -> dt.datetime:
    from .. import clock

    return clock.now().astimezone(dt.UTC).replace(microsecond=0)


@functools.lru_cache(maxsize=4)
def _rest_operations(service: str) -> dict[tuple[str, str], str]:
    """``(method, path)`` -> operation name of a rest-json service, from botocore's model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    table = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        table[(http["method"], http["requestUri"].split("?")[0].rstrip("/").lower())] = name
    return table


def lower_camel(value: Any) -> Any:
    """CloudTrail writes request parameters with a lower-case first letter, all the way down."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:] if isinstance(k, str) else k): lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_camel(v) for v in value]
    return value


def _form(text: str) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True).items()}


def _principal(access_key: str | None, region: str, now: dt.datetime) -> R.Principal:
    """What moto knows about the access key: an assumed role, an IAM user, or its default user."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    if access_key:
        for _account, partitions in list(sts_backends.items()):
            backend = dict.get(partitions, "aws")
            if backend is None:
                continue
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is None:
                continue
            role_name = role.role_arn.rsplit("/", 1)[-1]
            path = "/"
            unique_id = role.user_id.split(":", 1)[0]
            try:
                iam_role = iam_backends[role.account_id]["aws"].get_role_by_arn(role.role_arn)
                path = iam_role.path or "/"
                unique_id = iam_role.id
            except Exception:  # noqa: BLE001 -- a role deleted since: keep moto's id
                pass
            created = role.expiration - dt.timedelta(seconds=3600)
            return R.Principal(
                "AssumedRole",
                role.account_id,
                role_name,
                session=role.session_name,
                path=path,
                fixed_unique_id=unique_id,
                fixed_access_key=access_key,
                fixed_created=created.replace(tzinfo=dt.UTC) if created.tzinfo is None else created,
            )
        for account_id, partitions in list(iam_backends.items()):
            user = partitions["aws"].get_user_from_access_key_id(access_key)
            if user is not None:
                return R.Principal(
                    "IAMUser", account_id, user.name, fixed_unique_id=user.id, fixed_access_key=access_key
                )
    return R.Principal(
        "IAMUser", DEFAULT_ACCOUNT_ID, "moto", fixed_access_key=access_key or "", label="moto's default identity"
    )


def _error(status: int, headers: dict[str, str], body: bytes) -> tuple[str, str] | None:
    if status < 400:
        return None
    code, message = headers.get("x-amzn-errortype", "").split(":")[0], ""
    try:
        doc = json.loads(body or b"{}")
        code = code or str(doc.get("__type", "")).split("#")[-1]
        message = doc.get("message") or doc.get("Message") or ""
    except ValueError:
        try:
            root = ElementTree.fromstring(body)
            code = code or (root.findtext(".//{*}Code") or root.findtext(".//Code") or "")
            message = root.findtext(".//{*}Message") or root.findtext(".//Message") or ""
        except ElementTree.ParseError:
            pass
    return code or f"HTTP{status}", message


def _assume_role_response(body: bytes) -> dict[str, Any] | None:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None

    def text(tag: str) -> str:
        return root.findtext(f".//{{*}}{tag}") or root.findtext(f".//{tag}") or ""

    expiration = text("Expiration")
    try:
        expiration = R.java_date(dt.datetime.fromisoformat(expiration.replace("Z", "+00:00")))
    except ValueError:
        pass
    return {
        "credentials": {
            "accessKeyId": text("AccessKeyId"),
            "sessionToken": text("SessionToken"),
            "expiration": expiration,
        },
        "assumedRoleUser": {"assumedRoleId": text("AssumedRoleId"), "arn": text("Arn")},
    }


def _resource_accounts(params: dict[str, Any], caller: str) -> tuple[str, ...]:
    accounts = []
    for key in ("FeatureGroupName", "ResourceArn", "Arn", "RoleArn", "roleArn", "resourceShareArn"):
        value = params.get(key)
        match = _ARN_ACCOUNT_RE.match(value) if isinstance(value, str) else None
        if match and match.group(1) != caller and match.group(1) not in accounts:
            accounts.append(match.group(1))
    return tuple(accounts)


def records_for_request(
    environ: dict[str, Any], request_body: bytes, status: int, headers: dict[str, str], body: bytes
) -> list[dict[str, Any]]:
    """The CloudTrail records of one sandbox request (empty when CloudTrail would not log it)."""
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return []
    scope = credential_scope(environ)
    if scope is None or scope.presigned or scope.region is None:  # as the Authorization header names them
        return []
    access_key, region, service = scope.access_key, scope.region, scope.service
    source = RECORDED_SERVICES.get(service)
    if source is None:
        return []
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    params: dict[str, Any] = {}
    operation = None
    if service == "sagemaker":
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target:
            return _runtime_records(environ, request_body, status, headers, body, access_key, region)
        operation = target.split(".")[-1]
        try:
            params = json.loads(request_body or b"{}")
        except ValueError:
            params = {}
    elif service == "sts":
        params = _form(request_body.decode("utf-8", "replace")) if request_body else {}
        params.update(_form(environ.get("QUERY_STRING", "")))
        operation = params.pop("Action", None)
        params.pop("Version", None)
    else:
        operation = _rest_operations(service).get((method, path.rstrip("/").lower()))
        try:
            params = json.loads(request_body) if request_body.strip() else {}
        except ValueError:
            params = {}
        params.update(_form(environ.get("QUERY_STRING", "")))
    if not operation:
        return []
    now = _now()
    principal = _with_request(_principal(access_key, region, now), environ)
    error = _error(status, headers, body)
    response = None
    read_only = R.is_read_only(operation)
    if not error and not read_only:
        if operation == "AssumeRole":
            response = _assume_role_response(body)
        else:
            try:
                response = lower_camel(json.loads(body)) if body.strip() else None
            except ValueError:
                response = None
    if operation == "AssumeRole":
        read_only = True
    resources = []
    if operation == "AssumeRole" and isinstance(params.get("RoleArn"), str):
        role_arn = params["RoleArn"]
        role_account = _ARN_ACCOUNT_RE.match(role_arn)
        if role_account:
            resources = [{"accountId": role_account.group(1), "type": "AWS::IAM::Role", "ARN": role_arn}]
    if operation == "AssumeRole" and "DurationSeconds" in params:
        params["DurationSeconds"] = int(params["DurationSeconds"])
    call = R.Call(
        when=now,
        principal=principal,
        event_source=source,
        event_name=operation,
        region=region,
        request=lower_camel(params) or None,
        response=response,
        error=error,
        resources=resources,
        resource_accounts=_resource_accounts(params, principal.account_id),
        host=f"{'api.sagemaker' if service == 'sagemaker' else service}.{region}.amazonaws.com",
        read_only=read_only,
        event_version="1.11",
    )
    with _rng_lock:
        records = call.records(_rng)
    request_id = headers.get("x-amzn-requestid") or headers.get("x-amz-request-id")
    for record in records:
        if request_id:
            record["requestID"] = request_id
    return records


_RUNTIME_PATH = re.compile(r"^/FeatureGroup/([^/]+)/?$")


def _runtime_records(
    environ: dict[str, Any],
    request_body: bytes,
    status: int,
    headers: dict[str, str],
    body: bytes,
    access_key: str,
    region: str,
) -> list[dict[str, Any]]:
    """A Feature Store runtime request as the data event CloudTrail writes for it."""
    from urllib.parse import unquote

    from ..featurestore_runtime import raw_path

    method = environ.get("REQUEST_METHOD", "GET")
    path = raw_path(environ)
    now = _now()
    principal = _with_request(_principal(access_key, region, now), environ)
    match = _RUNTIME_PATH.match(path)
    if match:
        operation = {"GET": "GetRecord", "PUT": "PutRecord", "DELETE": "DeleteRecord"}.get(method)
        names = [unquote(match.group(1))]
    elif path.rstrip("/") == "/BatchGetRecord" and method == "POST":
        operation = "BatchGetRecord"
        try:
            identifiers = json.loads(request_body or b"{}").get("Identifiers") or []
        except ValueError:
            identifiers = []
        names = [str(i.get("FeatureGroupName", "")) for i in identifiers if isinstance(i, dict)]
    else:
        return []
    if not operation or not names:
        return []
    groups = []
    for name in dict.fromkeys(names):
        if name.startswith("arn:"):
            groups.append(R.FeatureGroupRef.from_arn(name))
        else:
            arn = f"arn:aws:sagemaker:{region}:{principal.account_id}:feature-group/{name}"
            groups.append(R.FeatureGroupRef(arn=arn, name=name, account_id=principal.account_id, region=region))
    call = R.feature_store_data_call(
        now, principal, operation, groups, error=_error(status, headers, body), version="1.11"
    )
    with _rng_lock:
        records = call.records(_rng)
    request_id = headers.get("x-amzn-requestid")
    for record in records:
        if request_id:
            record["requestID"] = request_id
    return records


def _with_request(principal: R.Principal, environ: dict[str, Any]) -> R.Principal:
    """The principal with the request's user agent and source address."""
    return R.Principal(
        principal.kind,
        principal.account_id,
        principal.name,
        session=principal.session,
        path=principal.path,
        user_agent=environ.get("HTTP_USER_AGENT", ""),
        source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
        fixed_unique_id=principal.fixed_unique_id,
        fixed_access_key=principal.fixed_access_key,
        fixed_created=principal.fixed_created,
    )


class Capture:
    """Wraps ``start_response`` to see the status and headers of the response."""

    def __init__(self, start_response) -> None:
        self.start_response = start_response
        self.status = 200
        self.headers: dict[str, str] = {}

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info=None):
        self.status = int(status.split(" ", 1)[0])
        self.headers = {k.lower(): v for k, v in headers}
        return self.start_response(status, headers, exc_info) if exc_info else self.start_response(status, headers)


class TrailPresence:
    """Cheap "is there any trail at all?" check, refreshed every second."""

    def __init__(self) -> None:
        self.checked = 0.0
        self.present = False

    def __call__(self) -> bool:
        if time.monotonic() - self.checked > 1.0:
            from moto.cloudtrail.models import cloudtrail_backends

            self.present = any(
                backend.trails for regions in list(cloudtrail_backends.values()) for backend in list(regions.values())
            )
            self.checked = time.monotonic()
        return self.present

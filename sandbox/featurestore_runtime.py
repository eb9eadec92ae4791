"""SageMaker Feature Store runtime (online store): PutRecord, GetRecord, BatchGetRecord, DeleteRecord.

moto has no ``sagemaker-featurestore-runtime``. botocore signs its requests with the service
name ``sagemaker`` and sends them to ``/FeatureGroup/{name}`` and ``/BatchGetRecord``, so
:class:`sandbox.server.SandboxApp` hands those paths here before moto sees them.

Records live next to the feature group in moto's SageMaker backend. A feature group ARN of
another account works when AWS RAM gives the caller the action (``sagemaker:GetRecord`` ... via
the group's managed permission, :func:`sandbox.state.allows`); otherwise ``AccessForbidden``
(HTTP 403), as the runtime reports it.

Sandbox choices: records are kept only for groups with an online store (the offline store's S3
files are not written); ``TtlDuration`` sets ``ExpiresAt`` but records are not purged;
``ListRecords``, ``UpdateRecord`` and ``BatchWriteRecord`` answer ``ValidationError`` saying the
sandbox does not implement them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from . import auth, faults, state

_FG_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):feature-group/(.+)$")
_PATH_RE = re.compile(r"^/FeatureGroup/([^/]+)(/ListRecords|/Record)?/?$")
MAX_BATCH_IDENTIFIERS = 100  # AWS: up to 100 records per BatchGetRecord call
_TTL_UNITS = {"Seconds": 1, "Minutes": 60, "Hours": 3600, "Days": 86400, "Weeks": 604800}


class RuntimeError_(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def _validation(message: str) -> RuntimeError_:
    return RuntimeError_("ValidationError", 400, message)


def _forbidden(account: str, action: str, arn: str) -> RuntimeError_:
    return RuntimeError_(
        "AccessForbidden",
        403,
        f"User: {auth.request_caller_arn(account)} is not authorized to perform: sagemaker:{action} "
        f"on resource: {arn} because no resource-based policy allows the sagemaker:{action} action",
    )


def _not_found(name: str) -> RuntimeError_:
    return RuntimeError_(
        "ResourceNotFound", 404, f"Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name {name}"
    )


def raw_path(environ: dict[str, Any]) -> str:
    # A feature group ARN in the URI arrives %2F-encoded; PATH_INFO has already decoded it.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    return raw.split("?", 1)[0] if raw else environ.get("PATH_INFO", "")


def matches(environ: dict[str, Any]) -> bool:
    path = raw_path(environ)
    if not (_PATH_RE.match(path) or path in ("/BatchGetRecord", "/BatchWriteRecord")):
        return False
    return faults.request_identity(environ)["service"] == "sagemaker"


def _caller(environ: dict[str, Any]) -> tuple[str, str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    ident = faults.request_identity(environ)
    account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or (
        get_account_id_from(ident["access_key"]) if ident["access_key"] else DEFAULT_ACCOUNT_ID
    )
    return account, ident["region"] or "us-east-1"


def _resolve(name_or_arn: str, account: str, region: str, action: str) -> Any:
    """The feature group, after checking that ``account`` may call ``action`` on it."""
    from moto.sagemaker.models import sagemaker_backends

    match = _FG_ARN_RE.match(name_or_arn)
    if match:
        fg_region, owner, name = match.groups()
        arn = f"arn:aws:sagemaker:{fg_region}:{owner}:feature-group/{name.lower()}"
        if (owner, fg_region) != (account, region):
            if fg_region != region or not state.allows(arn, account, f"sagemaker:{action}"):
                raise _forbidden(account, action, arn)
        fg = sagemaker_backends[owner][fg_region].feature_groups.get(arn)
        if fg is None:
            raise _not_found(name)
        return fg
    arn = f"arn:aws:sagemaker:{region}:{account}:feature-group/{name_or_arn.lower()}"
    fg = sagemaker_backends[account][region].feature_groups.get(arn)
    if fg is None:
        raise _not_found(name_or_arn)
    return fg


def _records(fg: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(fg, "sandbox_records"):
        fg.sandbox_records = {}
    return fg.sandbox_records


def _online(fg: Any) -> bool:
    return bool((fg.online_store_config or {}).get("EnableOnlineStore"))


def _event_time(value: str, feature_type: str) -> dt.datetime:
    try:
        if feature_type == "Fractional":
            seconds = float(value)
            if not math.isfinite(seconds):
                raise ValueError(value)
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        raise _validation(
            f"Invalid EventTime value {value}: use Unix epoch seconds for a Fractional event time feature or "
            "ISO 8601 (yyyy-MM-dd'T'HH:mm:ssZ) for a String one."
        ) from None


def _check_value(definition: dict[str, Any], value: dict[str, Any]) -> None:
    name, ftype = definition["FeatureName"], definition["FeatureType"]
    if definition.get("CollectionType"):
        items = value.get("ValueAsStringList")
        if not isinstance(items, list):
            raise _validation(f"Feature {name} is a {definition['CollectionType']}; send ValueAsStringList.")
    else:
        if "ValueAsString" not in value:
            raise _validation(f"Feature {name} needs ValueAsString.")
        items = [value["ValueAsString"]]
    for item in items:
        try:
            if ftype == "Integral":
                number = int(item)
                if not -(2**63) <= number < 2**63:
                    raise ValueError(item)
            elif ftype == "Fractional":
                float(item)
        except (TypeError, ValueError):
            raise _validation(f"Value {item} is not a valid {ftype} for feature {name}.") from None


def put_record(fg: Any, body: dict[str, Any]) -> dict[str, Any]:
    record = body.get("Record")
    if not isinstance(record, list) or not record:
        raise _validation("Record must contain at least one FeatureValue.")
    definitions = {d["FeatureName"]: d for d in fg.feature_definitions}
    values: dict[str, dict[str, Any]] = {}
    for value in record:
        name = value.get("FeatureName") if isinstance(value, dict) else None
        if name not in definitions:
            raise _validation(f"Feature {name} is not defined in FeatureGroup {fg.feature_group_name}.")
        if name in values:
            raise _validation(f"Feature {name} appears more than once in the record.")
        _check_value(definitions[name], value)
        values[name] = {k: v for k, v in value.items() if k in ("FeatureName", "ValueAsString", "ValueAsStringList")}
    for required in (fg.record_identifier_feature_name, fg.event_time_feature_name):
        if required not in values:
            raise _validation(f"The record must include a value for {required}.")
    event_time = _event_time(
        values[fg.event_time_feature_name].get("ValueAsString", ""),
        definitions[fg.event_time_feature_name]["FeatureType"],
    )
    record_id = values[fg.record_identifier_feature_name]["ValueAsString"]
    expires = None
    ttl = body.get("TtlDuration") or (fg.online_store_config or {}).get("TtlDuration")
    if ttl:
        expires = event_time + dt.timedelta(seconds=_TTL_UNITS.get(ttl.get("Unit"), 86400) * int(ttl.get("Value", 0)))
    if _online(fg):
        stored = _records(fg).get(record_id)
        # The online store keeps the latest record by event time.
        if stored is None or stored["deleted"] or event_time >= stored["event_time"]:
            _records(fg)[record_id] = {"values": values, "event_time": event_time, "deleted": False, "expires": expires}
    return {}


def _view(entry: dict[str, Any], names: list[str] | None, with_expiry: bool) -> dict[str, Any]:
    values = [dict(v) for n, v in entry["values"].items() if not names or n in names]
    out: dict[str, Any] = {"Record": values}
    if with_expiry and entry["expires"] is not None:
        out["ExpiresAt"] = entry["expires"].isoformat().replace("+00:00", "Z")
    return out


def get_record(fg: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    if not _online(fg):
        raise _validation(f"FeatureGroup {fg.feature_group_name} does not have an OnlineStore.")
    record_id = (query.get("RecordIdentifierValueAsString") or [None])[0]
    if record_id is None:
        raise _validation("RecordIdentifierValueAsString is required.")
    entry = _records(fg).get(record_id)
    if entry is None or entry["deleted"]:
        return {}  # AWS answers an empty document for a record it does not have
    return _view(entry, query.get("FeatureName"), (query.get("ExpirationTimeResponse") or [""])[0] == "Enabled")


def delete_record(fg: Any, query: dict[str, list[str]]) -> dict[str, Any]:
    record_id = (query.get("RecordIdentifierValueAsString") or [None])[0]
    event_value = (query.get("EventTime") or [None])[0]
    if record_id is None or event_value is None:
        raise _validation("RecordIdentifierValueAsString and EventTime are required.")
    mode = (query.get("DeletionMode") or ["SoftDelete"])[0]
    if mode not in ("SoftDelete", "HardDelete"):
        raise _validation(f"Invalid DeletionMode {mode}: use SoftDelete or HardDelete.")
    ftype = next(d["FeatureType"] for d in fg.feature_definitions if d["FeatureName"] == fg.event_time_feature_name)
    event_time = _event_time(event_value, ftype)
    entry = _records(fg).get(record_id)
    if entry is not None and event_time >= entry["event_time"]:
        if mode == "HardDelete":
            del _records(fg)[record_id]
        else:
            entry["deleted"], entry["event_time"] = True, event_time
    return {}


def batch_get_record(body: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    identifiers = body.get("Identifiers")
    if not isinstance(identifiers, list) or not identifiers:
        raise _validation("Identifiers must contain at least one entry.")
    if sum(len(i.get("RecordIdentifiersValueAsString") or []) for i in identifiers if isinstance(i, dict)) > (
        MAX_BATCH_IDENTIFIERS
    ):
        raise _validation(f"BatchGetRecord accepts at most {MAX_BATCH_IDENTIFIERS} record identifiers.")
    with_expiry = body.get("ExpirationTimeResponse") == "Enabled"
    records, errors = [], []
    for ident in identifiers:
        name = ident.get("FeatureGroupName", "") if isinstance(ident, dict) else ""
        ids = ident.get("RecordIdentifiersValueAsString") or [] if isinstance(ident, dict) else []
        try:
            fg = _resolve(name, account, region, "BatchGetRecord")
            if not _online(fg):
                raise _validation(f"FeatureGroup {fg.feature_group_name} does not have an OnlineStore.")
        except RuntimeError_ as exc:
            errors += [
                {
                    "FeatureGroupName": name,
                    "RecordIdentifierValueAsString": r,
                    "ErrorCode": exc.code,
                    "ErrorMessage": exc.message,
                }
                for r in ids
            ]
            continue
        for record_id in ids:
            entry = _records(fg).get(record_id)
            if entry is None or entry["deleted"]:
                continue
            view = _view(entry, ident.get("FeatureNames"), with_expiry)
            records.append({"FeatureGroupName": name, "RecordIdentifierValueAsString": record_id, **view})
    return {"Records": records, "Errors": errors, "UnprocessedIdentifiers": []}


def _read_body(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise _validation("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _validation("The request body must be a JSON object.")
    return body


def handle(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    path = raw_path(environ)
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    try:
        account, region = _caller(environ)
        body = _read_body(environ)
        if path == "/BatchGetRecord" and method == "POST":
            result = batch_get_record(body, account, region)
        else:
            match = _PATH_RE.match(path)
            name = unquote(match.group(1)) if match else ""
            operation = {
                ("PUT", None): "PutRecord",
                ("GET", None): "GetRecord",
                ("DELETE", None): "DeleteRecord",
            }.get((method, match.group(2) if match else None))
            if operation is None:
                raise _validation("The sandbox implements PutRecord, GetRecord, BatchGetRecord and DeleteRecord only.")
            fg = _resolve(name, account, region, operation)
            if operation == "PutRecord":
                result = put_record(fg, body)
            elif operation == "GetRecord":
                result = get_record(fg, query)
            else:
                result = delete_record(fg, query)
        status, payload = 200, result
        headers = [("Content-Type", "application/json")]
    except RuntimeError_ as exc:
        status, payload = exc.status, {"Message": exc.message}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", exc.code)]
    data = json.dumps(payload).encode()
    phrase = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[status]
    start_response(f"{status} {phrase}", [*headers, ("Content-Length", str(len(data)))])
    return [data]

"""Fault injection: make matching AWS requests fail with a realistic, wire-format error, or slow.

A fault with an ``error_code`` answers with that error; one with only ``delay_seconds`` waits that
long and then lets the request through (latency), which is how tests make a sync slow enough to
interrupt. Both may be combined (a slow error).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
import uuid
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

from ._common import credential_scope, s3_error_document

_lock = threading.Lock()
_ids = itertools.count(1)
_faults: list[dict[str, Any]] = []

DEFAULT_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "Throttling": "Rate exceeded",
    "AccessDeniedException": "User is not authorized to perform this action",
    "AccessDenied": "User is not authorized to perform this action",
    "InternalFailure": "An internal error occurred",
    "ServiceUnavailable": "Service is unavailable",
}


def add(spec: dict[str, Any]) -> dict[str, Any]:
    """Register a fault. Keys: service, operation (None = any), account_id (None = any),
    region (None = any), error_code and/or delay_seconds, status (default 400), message,
    count (-1 = forever)."""
    delay = spec.get("delay_seconds") or 0
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 60:
        raise ValueError("delay_seconds must be a number of seconds between 0 and 60")
    if not spec.get("error_code") and delay <= 0:
        raise ValueError("error_code or delay_seconds is required")
    if spec.get("service") == "s3" and spec.get("operation"):
        # `match_fault` tells operations apart by X-Amz-Target, a REST-JSON route or Action=;
        # S3's REST-XML requests have none of them, so such a fault would never apply.
        raise ValueError(
            "S3 faults match every S3 request of the service, account and Region; they cannot name an operation"
        )
    for field in ("count", "status"):
        if spec.get(field) is not None and (isinstance(spec[field], bool) or not isinstance(spec[field], int)):
            raise ValueError(f"{field} must be an integer")
    fault = {
        "id": next(_ids),
        "service": spec.get("service"),
        "operation": spec.get("operation"),
        "account_id": str(spec["account_id"]) if spec.get("account_id") else None,
        "region": spec.get("region"),
        "error_code": spec.get("error_code") or None,
        "delay_seconds": delay,
        "status": int(spec.get("status") or 400),
        "message": spec.get("message") or DEFAULT_MESSAGES.get(spec.get("error_code") or "", spec.get("error_code")),
        "count": int(spec.get("count", 1)),
        "hits": 0,
    }
    with _lock:
        _faults.append(fault)
    return dict(fault)


def clear() -> None:
    with _lock:
        _faults.clear()


def listing() -> list[dict[str, Any]]:
    with _lock:
        return [dict(f) for f in _faults]


def active() -> bool:
    return bool(_faults)


def take(service: str | None, operation: str | None, account_id: str | None, region: str | None) -> dict | None:
    """Return (and consume one use of) the first fault matching the request, if any."""
    with _lock:
        for fault in _faults:
            if fault["count"] == 0:
                continue
            if fault["service"] and fault["service"] != service:
                continue
            if fault["operation"] and fault["operation"] != operation:
                continue
            if fault["account_id"] and fault["account_id"] != account_id:
                continue
            if fault["region"] and fault["region"] != region:
                continue
            if fault["count"] > 0:
                fault["count"] -= 1
            fault["hits"] += 1
            return dict(fault)
    return None


# REST-JSON services whose operation a fault can name: SigV4 signing name -> botocore models.
_REST_JSON_MODELS = {"ram": ("ram",), "sagemaker": ("sagemaker-featurestore-runtime",)}


@functools.lru_cache(maxsize=8)
def _rest_routes(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    import botocore.session

    session = botocore.session.get_session()
    routes = []
    for model_name in _REST_JSON_MODELS.get(service, ()):
        model = session.get_service_model(model_name)
        for name in model.operation_names:
            http = model.operation_model(name).http
            uri = http["requestUri"].split("?")[0].rstrip("/")
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.sub(r"\{[^}]+\+\}", ".+", uri))
            routes.append((http["method"], re.compile(f"^{pattern}/?$"), name))
    return tuple(routes)


def rest_json_operation(service: str | None, method: str, path: str) -> str | None:
    """The API name of a REST-JSON request (``CreateResourceShare``, ``PutRecord``), if known."""
    for route_method, pattern, name in _rest_routes(service or ""):
        if route_method == method and pattern.match(path):
            return name
    return None


def request_identity(environ: dict[str, Any]) -> dict[str, str | None]:
    """Access key, region and service from a SigV4 Authorization header or presigned URL.

    A fault meant for a service applies however its requests are signed: a presigned URL
    (query-string authentication) names its credential scope in ``X-Amz-Credential``.
    """
    scope = credential_scope(environ)
    if scope is None or scope.service is None:
        return {"access_key": None, "region": None, "service": None}
    return {"access_key": scope.access_key, "region": scope.region, "service": scope.service}


def error_response(fault: dict, protocol: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """An AWS error document in the protocol's wire format (json, rest-json, query or rest-xml)."""
    code, message, status = fault["error_code"], fault["message"], fault["status"]
    request_id = str(uuid.uuid4())
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    status_line = f"{status} {phrase}"
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "application/json"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    elif protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:  # rest-xml (S3)
        body, headers = s3_error_document(code, message)
        return status_line, headers, body
    headers.append(("Content-Length", str(len(body))))
    return status_line, headers, body

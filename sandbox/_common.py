"""Helpers shared by the SageMaker extensions: paging tokens, timestamps, search expressions."""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from moto.sagemaker.exceptions import AWSValidationException, SagemakerClientError

DEFAULT_MAX_RESULTS = 10
MAX_RESULTS_LIMIT = 100


class ResourceNotFound(SagemakerClientError):
    code = "ResourceNotFound"


class AccessDeniedException(SagemakerClientError):
    code = "AccessDeniedException"


class ResourceLimitExceeded(SagemakerClientError):
    code = "ResourceLimitExceeded"


def validation(message: str) -> AWSValidationException:
    return AWSValidationException(message)


def descending(sort_order: str | None) -> bool:
    """``SortOrder`` of a SageMaker list call: Descending by default. A value outside the enum
    never reaches here: sandbox.validation refuses it for every operation that takes one."""
    return sort_order != "Ascending"


def to_naive_utc(value: Any) -> Any:
    """Normalise datetimes (aware or naive UTC) and epoch numbers to naive UTC datetimes."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    return value


# Search filter values for timestamp properties: "an ISO 8601 date-time string
# of the following format: YYYY-mm-dd'T'HH:MM:SS" (Filter.Value in
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Filter.html).
# No fraction, no offset: anything else is a ValidationException.
_SEARCH_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def parse_search_timestamp(value: Any, name: str) -> dt.datetime:
    """A Search filter value for a timestamp property, or AWS's ValidationException."""
    text = str(value)
    if _SEARCH_TIMESTAMP_RE.match(text):
        try:
            return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            pass  # 2024-02-30T…: the right shape, not a date
    raise validation(
        f"Invalid value '{text}' for the timestamp property {name}. "
        "Timestamp values must be in the format yyyy-MM-dd'T'HH:mm:ss."
    )


# --------------------------------------------------------------------------- paging


def check_max_results(value: Any, default: int = DEFAULT_MAX_RESULTS) -> int:
    if value is None:
        return default
    value = int(value)
    if value < 1:
        raise validation(
            f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1"
        )
    if value > MAX_RESULTS_LIMIT:
        raise validation(
            f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_RESULTS_LIMIT}"
        )
    return value


def encode_token(offset: int, scope: str) -> str:
    raw = json.dumps({"o": offset, "s": scope}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["s"] != scope:
            raise ValueError("scope")
        return int(data["o"])
    except Exception:  # noqa: BLE001 -- any garbage token is a validation error in AWS
        raise validation("Invalid pagination token because of the provided NextToken value.") from None


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value


def paginate_after(
    items: list, keys: list[tuple], max_results: int, next_token: str | None, scope: str, *, descending: bool
):
    """Paging over a live, sorted list, the way Search's NextToken behaves.

    The token holds the sort key of the last result returned, and the next
    page starts after that key in the list *as it is now*. So an item whose
    key changes between pages moves: one edited to sort before the cursor is
    never returned, one edited to sort after it may come twice, and nothing
    is frozen at the first call. ``keys[i]`` is ``items[i]``'s sort key, and
    both are sorted (descending when ``descending``). Returns ``(page, next_token_or_None)``.
    """
    start = 0
    if next_token:
        try:
            data = json.loads(base64.urlsafe_b64decode(next_token.encode()))
            if data["s"] != scope:
                raise ValueError("scope")
            cursor = _as_tuple(data["k"])
        except Exception:  # noqa: BLE001 -- any garbage token is a validation error in AWS
            raise validation("Invalid pagination token because of the provided NextToken value.") from None
        if descending:  # first key below the cursor: count the keys at or above it
            start = len(keys) - bisect.bisect_left(keys[::-1], cursor)
        else:
            start = bisect.bisect_right(keys, cursor)
    page = items[start : start + max_results]
    if start + max_results >= len(items):
        return page, None
    raw = json.dumps({"k": keys[start + len(page) - 1], "s": scope}).encode()
    return page, base64.urlsafe_b64encode(raw).decode()


def paginate(items: list, max_results: int, next_token: str | None, scope: str):
    """Offset paging over an already sorted list. Returns ``(page, next_token_or_None)``."""
    start = decode_token(next_token, scope)
    end = start + max_results
    page = items[start:end]
    return page, (encode_token(end, scope) if end < len(items) else None)


# --------------------------------------------------------------------------- search

_MISSING = object()


def resolve(doc: dict, name: str) -> Any:
    """Resolve a Search property name against a search document.

    ``Tags.<key>`` / ``Parameters.<key>`` look up ``[{Key, Value}]`` lists by key; other dotted
    names walk nested dicts. Returns ``_MISSING`` when absent.
    """
    head, _, rest = name.partition(".")
    value = doc.get(head, _MISSING)
    if not rest or value is _MISSING:
        return value
    if isinstance(value, list) and all(isinstance(v, dict) and "Key" in v for v in value):
        for pair in value:
            if pair["Key"] == rest:
                return pair.get("Value")
        return _MISSING
    if isinstance(value, dict):
        return resolve(value, rest)
    return _MISSING


def _coerce_pair(actual: Any, expected: str, name: str) -> tuple[Any, Any]:
    if isinstance(actual, dt.datetime):
        return actual, parse_search_timestamp(expected, name)
    if isinstance(actual, bool):
        return str(actual).lower(), str(expected).lower()
    if isinstance(actual, (int, float)):
        try:
            return actual, float(expected)
        except ValueError:
            return str(actual), expected
    return str(actual), str(expected)


def compare(actual: Any, operator: str, expected: Any, name: str = "") -> bool:
    if operator == "Exists":
        return actual is not _MISSING and actual is not None
    if operator == "NotExists":
        return actual is _MISSING or actual is None
    if actual is _MISSING or actual is None:
        return operator == "NotEquals"
    if expected is None:
        raise validation(f"Value is required for operator {operator}")
    if isinstance(actual, list):  # e.g. a list-valued property: any element matches
        return any(compare(a, operator, expected, name) for a in actual)
    if operator == "In":
        options = [v.strip() for v in str(expected).split(",")]
        return any(compare(actual, "Equals", opt, name) for opt in options)
    if operator == "Contains":
        return str(expected).lower() in str(actual).lower()
    a, e = _coerce_pair(actual, expected, name)
    try:
        return {
            "Equals": lambda: a == e,
            "NotEquals": lambda: a != e,
            "GreaterThan": lambda: a > e,
            "GreaterThanOrEqualTo": lambda: a >= e,
            "LessThan": lambda: a < e,
            "LessThanOrEqualTo": lambda: a <= e,
        }[operator]()
    except KeyError:
        raise validation(f"Unsupported operator: {operator}") from None
    except TypeError:
        return False


TIMESTAMP_PROPERTIES = {"CreationTime", "LastModifiedTime"}


def make_matcher(expression: dict | None, known_names: Iterable[str]) -> Callable[[dict], bool]:
    """Compile a SearchExpression into a predicate over search documents.

    Timestamp filter values are checked here, before any document is looked
    at, so a badly formed one fails even when nothing would match.
    """
    known = set(known_names)

    def check_name(name: str) -> None:
        if name.split(".")[0] not in known:
            raise validation(f"Unknown property name: {name}")

    def filter_fn(f: dict, prefix: str = "") -> Callable[[dict], bool]:
        name = f["Name"]
        if prefix and name.startswith(prefix + "."):
            name = name[len(prefix) + 1 :]
        elif not prefix:
            check_name(name)
        operator = f.get("Operator", "Equals")
        value = f.get("Value")
        if name.split(".")[-1] in TIMESTAMP_PROPERTIES and operator not in ("Exists", "NotExists"):
            for part in str(value).split(",") if operator == "In" else [value]:
                parse_search_timestamp(part.strip() if operator == "In" else part, f["Name"])
        return lambda doc: compare(resolve(doc, name), operator, value, f["Name"])

    def nested_fn(n: dict) -> Callable[[dict], bool]:
        prop = n["NestedPropertyName"]
        check_name(prop)
        preds = [filter_fn(f, prefix=prop) for f in n.get("Filters", [])]

        def run(doc: dict) -> bool:
            elements = resolve(doc, prop)
            if not isinstance(elements, list):
                return False
            return any(all(p(el) for p in preds) for el in elements if isinstance(el, dict))

        return run

    def expr_fn(e: dict) -> Callable[[dict], bool]:
        preds = [filter_fn(f) for f in e.get("Filters") or []]
        preds += [nested_fn(n) for n in e.get("NestedFilters") or []]
        preds += [expr_fn(s) for s in e.get("SubExpressions") or []]
        combine = any if e.get("Operator", "And") == "Or" else all
        if not preds:
            return lambda doc: True
        return lambda doc: combine(p(doc) for p in preds)

    return expr_fn(expression or {})


def sort_key_for(name: str) -> Callable[[dict], Any]:
    def key(doc: dict) -> Any:
        value = resolve(doc, name)
        if value is _MISSING or value is None:
            return (0, "")
        if isinstance(value, dt.datetime):
            return (1, value.timestamp())
        if isinstance(value, (int, float)):
            return (1, value)
        return (1, str(value).lower())

    return key


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for whoever reads `wsgi.input` next (moto)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def query_params(environ: dict[str, Any]) -> dict[str, str]:
    """The request's query parameters (the last of a repeated name), parsed once per request.

    A presigned URL's query is long (the session token alone is hundreds of characters), and the
    credential check, the presigned-URL check, the cross-account check and the S3 fast path all
    read it: ~30 µs a parse. Do not modify the dict; copy it.
    """
    params = environ.get("sandbox.query_params")
    if params is None:
        params = environ["sandbox.query_params"] = dict(
            parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        )
    return params


def key_account(environ: dict[str, Any], access_key: str) -> str:
    """moto's account for an access key, looked up once per request.

    moto's lookup scans every account's IAM keys (~37 µs with 31 accounts), and the fault check,
    the cross-account check and the S3 fast path each need it for the same request.
    """
    cached = environ.get("sandbox.key_account")
    if cached is not None and cached[0] == access_key:
        return cached[1]
    from moto.iam.models import get_account_id_from

    account = get_account_id_from(access_key)
    environ["sandbox.key_account"] = (access_key, account)
    return account


# --------------------------------------------------------------------------- credential scope

# A SigV4 credential scope is KEY/DATE/REGION/SERVICE/aws4_request; a SigV4A one
# (AWS4-ECDSA-P256-SHA256) has no Region: KEY/DATE/SERVICE/aws4_request.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
_SCOPE_REST = re.compile(r"^\d{8}/(?:([^/,\s]+)/)?([^/,\s]+)/aws4_request$")
_HEADER_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/([^,\s]*)")
_NOT_PARSED = object()


class CredentialScope(NamedTuple):
    """What a SigV4 or SigV4A signature names: whose key, for which Region and service.

    `region` is None for SigV4A; `region` and `service` are both None when the key is followed by
    something that is not a credential scope (moto serves such requests; the key is still the
    caller's claim, and the credential check judges it).
    """

    access_key: str
    region: str | None
    service: str | None
    presigned: bool  # named by a presigned URL's X-Amz-Credential, not an Authorization header


def scope_parse(access_key: str, rest: str, *, presigned: bool) -> CredentialScope:
    match = _SCOPE_REST.match(rest)
    region, service = match.groups() if match else (None, None)
    return CredentialScope(access_key, region, service, presigned)


def credential_scope_of(credential: str, *, presigned: bool = True) -> CredentialScope | None:
    """The scope in an `X-Amz-Credential` value (a presigned URL's, or a POST form's field)."""
    access_key, _, rest = credential.partition("/")
    if not access_key or any(ch in access_key for ch in ", \t\r\n"):
        return None
    return scope_parse(access_key, rest, presigned=presigned)


def credential_scope(environ: dict[str, Any]) -> CredentialScope | None:
    """The credential scope a request is signed with, read once per request; None if unsigned.

    The Authorization header's, else a presigned URL's `X-Amz-Credential` (a request with an
    Authorization header is judged by it alone, as AWS does). The credential check, the faults,
    the CloudTrail recorder, S3's access rules and S3's fast path all ask.
    """
    cached = environ.get("sandbox.credential_scope", _NOT_PARSED)
    if cached is not _NOT_PARSED:
        return cached
    scope = None
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        match = _HEADER_CREDENTIAL.search(authorization)
        if match:
            scope = scope_parse(match.group(1), match.group(2), presigned=False)
    elif "X-Amz-Credential" in environ.get("QUERY_STRING", ""):
        credential = query_params(environ).get("X-Amz-Credential")
        if credential is not None:
            scope = credential_scope_of(credential)
    environ["sandbox.credential_scope"] = scope
    return scope


# --------------------------------------------------------------------------- S3 errors


def s3_error_document(
    code: str, message: str, details: Iterable[tuple[str, str]] = ()
) -> tuple[bytes, list[tuple[str, str]]]:
    """S3's error document and its headers; `details` are the extra elements some errors carry
    (`<Method>`, `<X-Amz-Expires>`, …). Every value is escaped.

    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
    """
    request_id = uuid.uuid4().hex[:16].upper()
    host_id = uuid.uuid4().hex
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in details)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    headers = [
        ("Content-Type", "application/xml"),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", host_id),
        ("Content-Length", str(len(body))),
    ]
    return body, headers

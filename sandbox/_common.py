"""Helpers shared by the SageMaker extensions: paging tokens, timestamps, search expressions."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any

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


def to_naive_utc(value: Any) -> Any:
    """Normalise datetimes (aware or naive UTC) and epoch numbers to naive UTC datetimes."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    return value


def parse_time(value: Any) -> dt.datetime | None:
    """Parse a search-filter value into a datetime (ISO 8601 or epoch seconds)."""
    if isinstance(value, (dt.datetime, int, float)):
        return to_naive_utc(value)
    text = str(value).strip()
    try:
        return to_naive_utc(float(text))
    except ValueError:
        pass
    try:
        return to_naive_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


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


def _coerce_pair(actual: Any, expected: str) -> tuple[Any, Any]:
    if isinstance(actual, dt.datetime):
        return actual, parse_time(expected)
    if isinstance(actual, bool):
        return str(actual).lower(), str(expected).lower()
    if isinstance(actual, (int, float)):
        try:
            return actual, float(expected)
        except ValueError:
            return str(actual), expected
    return str(actual), str(expected)


def compare(actual: Any, operator: str, expected: Any) -> bool:
    if operator == "Exists":
        return actual is not _MISSING and actual is not None
    if operator == "NotExists":
        return actual is _MISSING or actual is None
    if actual is _MISSING or actual is None:
        return operator == "NotEquals"
    if expected is None:
        raise validation(f"Value is required for operator {operator}")
    if isinstance(actual, list):  # e.g. a list-valued property: any element matches
        return any(compare(a, operator, expected) for a in actual)
    if operator == "In":
        options = [v.strip() for v in str(expected).split(",")]
        return any(compare(actual, "Equals", opt) for opt in options)
    if operator == "Contains":
        return str(expected).lower() in str(actual).lower()
    a, e = _coerce_pair(actual, expected)
    if e is None:
        raise validation(f"Invalid value '{expected}' for a timestamp property")
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


def make_matcher(expression: dict | None, known_names: Iterable[str]) -> Callable[[dict], bool]:
    """Compile a SearchExpression into a predicate over search documents."""
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
        return lambda doc: compare(resolve(doc, name), operator, value)

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

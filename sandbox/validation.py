"""SageMaker's input validation, from botocore's model of the API.

AWS checks every request against the API's own constraints before the operation runs: required
members, string lengths and patterns, enums, list lengths and number ranges, and answers
``400 ValidationException`` with one sentence per broken constraint ("2 validation errors
detected: Value 'x' at 'tags.1.member.key' failed to satisfy constraint: …; …"). moto checks a
few of them by hand; the sandbox checks every constraint of every SageMaker control-plane operation
(SageMaker's JSON protocol, ``X-Amz-Target: SageMaker.<Operation>``) that botocore's model knows, so
a tag key, a feature parameter or a feature group description AWS refuses is refused here too.

The model's patterns are Java regular expressions (``\\p{L}`` and friends): ``regex`` reads them.
Messages follow AWS's wording (lowerCamelCase member paths, lists as ``.N.member``, at most the
first ten errors listed, as the Coral framework does).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import regex

from ._common import read_body

TARGET_PREFIX = "SageMaker."
MAX_LISTED = 10


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


@functools.lru_cache(maxsize=512)
def _pattern(pattern: str) -> Any:
    return regex.compile(f"^(?:{pattern})$")


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _errors(shape: Any, value: Any, path: str) -> Iterator[str]:
    """AWS's sentences for `value` at `path` against `shape` (nothing for a type mismatch: moto's
    parser reports those as AWS's SerializationException would)."""
    meta = shape.metadata
    kind = shape.type_name
    at = f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: Member must"
    if kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            yield f"{at} satisfy enum value set: [{', '.join(shape.enum)}]"
            return
        if "min" in meta and len(value) < meta["min"]:
            yield f"{at} have length greater than or equal to {meta['min']}"
        if "max" in meta and len(value) > meta["max"]:
            yield f"{at} have length less than or equal to {meta['max']}"
        if "pattern" in meta and not _pattern(meta["pattern"]).match(value):
            yield f"{at} satisfy regular expression pattern: {meta['pattern']}"
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            yield f"{at} have value greater than or equal to {meta['min']}"
        if "max" in meta and value > meta["max"]:
            yield f"{at} have value less than or equal to {meta['max']}"
    elif kind == "list" and isinstance(value, list):
        if "min" in meta and len(value) < meta["min"]:
            yield f"{at} have length greater than or equal to {meta['min']}"
        if "max" in meta and len(value) > meta["max"]:
            yield f"{at} have length less than or equal to {meta['max']}"
        for index, item in enumerate(value, start=1):
            yield from _errors(shape.member, item, f"{path}.{index}.member")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _errors(shape.key, key, f"{path}.{key}.key")
            yield from _errors(shape.value, item, f"{path}.{key}.value")
    elif kind == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                yield f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
        for name, member in shape.members.items():
            if value.get(name) is not None:
                yield from _errors(member, value[name], _join(path, name))


def _join(path: str, name: str) -> str:
    return f"{path}.{_camel(name)}" if path else _camel(name)


def input_errors(operation: str, params: Any) -> list[str]:
    """Every constraint of `operation`'s input that `params` (the request's JSON) breaks."""
    try:
        shape = _model().operation_model(operation).input_shape
    except Exception:  # noqa: BLE001 -- an operation the model does not know: moto answers it
        return []
    if shape is None or not isinstance(params, dict):
        return []
    return list(_errors(shape, params, ""))


def message(errors: list[str]) -> str:
    count = len(errors)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors[:MAX_LISTED])


def check(environ: dict[str, Any], start_response: Callable) -> list[bytes] | None:
    """AWS's 400 ValidationException for a SageMaker control-plane request that breaks its model's
    constraints, else None (the request goes on to moto)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith(TARGET_PREFIX):
        return None
    operation = target[len(TARGET_PREFIX) :]
    try:
        params = json.loads(read_body(environ) or b"{}")
    except ValueError:
        return None  # moto answers a body that is not JSON as AWS's SerializationException would
    errors = input_errors(operation, params)
    if not errors:
        return None
    body = json.dumps({"__type": "ValidationException", "message": message(errors)}).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]

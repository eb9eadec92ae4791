"""Check sandbox responses against botocore's service models, member by member.

botocore's parser is lenient: it drops members it does not know and never complains about a
missing required member. :class:`ResponseRecorder` keeps the raw body of every response a client
receives, and :func:`shape_problems` walks it against the operation's output shape: unknown
members, missing required members, wrong types and values outside an enum or a range.
Requests are checked by botocore itself (parameter validation is on), so a call that reaches
the sandbox is valid against the model.
"""

from __future__ import annotations

import json
import numbers
from typing import Any

from botocore.model import Shape


class ResponseRecorder:
    """Collects ``(operation model, status, raw body)`` for every call a client makes."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[Any, int, bytes]] = []
        self.error_types: list[str] = []
        self.client = client
        client.meta.events.register("after-call", self._record)

    def _record(self, http_response: Any, model: Any, **_: Any) -> None:
        self.calls.append((model, http_response.status_code, http_response.content))
        self.error_types.append(http_response.headers.get("x-amzn-ErrorType", ""))

    def problems(self) -> list[str]:
        """Every mismatch between a successful response body and its operation's output shape."""
        found = []
        for model, status, content in self.calls:
            if status >= 300 or model.output_shape is None:
                continue
            body = json.loads(content) if content.strip() else {}
            found += [f"{model.name}: {p}" for p in shape_problems(model.output_shape, body, body_only=True)]
        return found

    def error_problems(self) -> list[str]:
        """Errors whose code the operation does not model, or whose HTTP status differs from the model's."""
        found = []
        for (model, status, content), header in zip(self.calls, self.error_types, strict=True):
            if status < 300:
                continue
            body = json.loads(content) if content.strip() else {}
            # REST-JSON: botocore takes the code from X-Amzn-ErrorType first, then the body.
            code = str(header or body.get("__type") or body.get("code") or "").split(":")[0].split("#")[-1]
            modeled = {s.name: s.metadata.get("error", {}).get("httpStatusCode") for s in model.error_shapes}
            if code not in modeled:
                found.append(f"{model.name}: error {code} is not among {sorted(modeled)}")
            elif modeled[code] not in (None, status):
                found.append(f"{model.name}: {code} came with HTTP {status}, the model says {modeled[code]}")
            if not (body.get("message") or body.get("Message")):
                found.append(f"{model.name}: {code} has no message")
        return found


def _wire_name(name: str, shape: Shape) -> str:
    return shape.serialization.get("name", name)


def shape_problems(shape: Shape, value: Any, path: str = "", body_only: bool = False) -> list[str]:
    where = path or shape.name
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        members = {
            _wire_name(name, member): (name, member)
            for name, member in shape.members.items()
            if not body_only or member.serialization.get("location") in (None, "body")
        }
        problems = [f"{where}.{key}: not a member of {shape.name}" for key in value if key not in members]
        for required in shape.required_members:
            member = shape.members[required]
            if body_only and member.serialization.get("location") not in (None, "body"):
                continue
            if _wire_name(required, member) not in value:
                problems.append(f"{where}.{required}: required member missing")
        for key, item in value.items():
            if key in members and item is not None:
                problems += shape_problems(members[key][1], item, f"{where}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        problems = []
        for index, item in enumerate(value):
            problems += shape_problems(shape.member, item, f"{where}[{index}]")
        return problems
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {type(value).__name__}"]
        problems = []
        for key, item in value.items():
            problems += shape_problems(shape.key, key, f"{where}<key>")
            problems += shape_problems(shape.value, item, f"{where}[{key}]")
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {type(value).__name__}"]
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            return [f"{where}: {value!r} is not one of {enum}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {type(value).__name__}"]
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer, got {type(value).__name__}"]
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            return [f"{where}: {value} outside [{low}, {high}]"]
        return []
    if kind in ("double", "float"):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {type(value).__name__}"]
    if kind == "timestamp":
        # JSON protocols send epoch seconds unless the shape asks for another format.
        if shape.serialization.get("timestampFormat") in (None, "unixTimestamp"):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        return [] if ok else [f"{where}: timestamp in the wrong format: {value!r}"]
    return []

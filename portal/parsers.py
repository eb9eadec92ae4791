"""The API's JSON parser: what PostgreSQL and Python cannot take is a 400, not a 500.

DRF's own parser turns a `RecursionError` from JSON nested a few thousand
deep into a 500, and lets through strings that PostgreSQL refuses later: a
NUL (`\\u0000`, which neither `text` nor `jsonb` can hold) and lone
surrogates (`\\ud800`, which are not UTF-8 at all). This parser refuses both,
bounds the nesting depth and the size it reads, and answers `{"detail": ...}`
like every other API error. `portal.middleware.BadInputMiddleware` has
already decoded any `Content-Encoding` by the time this runs.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, status

# Deeper than any real payload (an OpenLineage schema facet of structs in
# structs stays well under this) and far below Python's recursion limit.
MAX_JSON_DEPTH = 64


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def max_body_bytes() -> int:
    return int(getattr(settings, "PANTRY_MAX_REQUEST_BODY_BYTES", 5 * 1024 * 1024))


def unstorable_reason(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a parsed JSON value cannot be stored, or None. Iterative: no recursion on hostile input."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "Strings may not contain NUL (\\u0000) characters."
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Strings may not contain unpaired surrogates (such as \\ud800)."
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"JSON is nested too deeply (more than {max_depth} levels)."
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a size cap, a depth cap and no unstorable strings."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"The request body is not valid {encoding}.") from exc
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError as exc:
            # The C scanner stops at Python's recursion limit (~1000 levels)
            # with this error; shallower excess is caught by the walk below.
            raise exceptions.ParseError(f"JSON is nested too deeply (more than {MAX_JSON_DEPTH} levels).") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        reason = unstorable_reason(data)
        if reason:
            raise exceptions.ParseError(reason)
        return data


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON, and jsonb refuses them.
    raise ValueError(f"{name} is not valid JSON")

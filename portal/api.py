"""Pieces every API module shares: the error body's schema, and the API root.

Errors are `{"detail": "..."}` (DRF's own shape, and what
`portal.middleware.BadInputMiddleware` answers for bad input), except a 400
from validation, which names each bad field: `{"field": ["message"], ...}`.
`error_responses(...)` documents them in the OpenAPI schema, so clients and
schemathesis know every status an endpoint really returns.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


_DESCRIPTIONS = {
    400: 'Bad input: field errors (`{"field": ["message"]}`) or `{"detail": "..."}`.',
    401: "Not signed in, or a missing or wrong token.",
    403: "Signed in but not allowed.",
    404: "Not found, or not visible to you (the two are the same answer).",
    405: "Method not allowed.",
    413: "The request body is too large (after gzip decoding).",
    415: "Unsupported Content-Type or Content-Encoding.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`responses=` entries for the error statuses an endpoint returns."""
    out = {}
    for code in codes:
        body = OpenApiTypes.OBJECT if code == 400 else ErrorSerializer
        out[code] = OpenApiResponse(response=body, description=_DESCRIPTIONS[code])
    return out

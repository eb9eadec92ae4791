"""Pieces every API module shares: the error body's schema and the API root.

Errors are `{"detail": "..."}` (DRF's own shape, and what
`portal.middleware.BadInputMiddleware` answers for bad input), except a 400
from validation, which names each bad field: `{"field": ["message"], ...}`.
`error_responses(...)` documents them in the OpenAPI schema, so clients and
schemathesis know every status an endpoint really returns. The rule for
query parameters is in `portal.api_filters`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import routers, serializers
from rest_framework.reverse import reverse


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


# --- the API root ----------------------------------------------------------------------------------


class ApiRootView(routers.APIRootView):
    """Every endpoint of the API: the router's viewsets and each app module's other routes.

    Routes that take an id are shown as templates (`.../{id}/lineage/`).
    """

    extra_routes: dict[str, str] = {}  # name in the listing -> URL name or template (set by portal.api_urls)

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        base = request.build_absolute_uri("/").rstrip("/")
        for label, target in self.extra_routes.items():
            if target.startswith("/"):
                response.data[label] = base + target
            else:
                response.data[label] = reverse(target, request=request)
        return response

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
    429: "Too many requests for this person, token or address; `Retry-After` says when to try again.",
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


# --- every operation's error statuses, in the schema ------------------------------------------------


def _error_ref(code: int) -> dict:
    if code == 400:
        body = {"type": "object", "additionalProperties": True}
    else:
        body = {"$ref": "#/components/schemas/Error"}
    return {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": body}}}


def error_statuses_hook(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing: document the errors every operation can return.

    Derived from what the operation is, the way the API behaves everywhere:
    400 (bad input: unknown query parameters, NUL bytes, validation), 401/403
    (signed out, bad token, not allowed), 429 (throttled), 404 for anything that names an
    object (invisible is 404 too) and for list pages past the end, 413/415
    for request bodies. Views document anything else with `extend_schema`.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error", {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    )
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = [400, 401, 403, 429]
            has_pagination = any(p.get("name") == "page" for p in operation.get("parameters", []))
            if "{" in path or has_pagination:
                codes.append(404)
            if "requestBody" in operation or method in {"post", "put", "patch"}:
                codes += [413, 415]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(str(code), _error_ref(code))
    return result

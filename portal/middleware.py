"""Site-wide request and response rules: the Content-Security-Policy, and bad input refused in one place.

A strict Content-Security-Policy: no inline scripts, no third-party origins.

Everything Pantry serves (Bootstrap, htmx, its own JS) is vendored under
`static/`, so `'self'` is enough. Swagger UI at /api/docs/ is served from
the same origin (drf-spectacular's split view with the sidecar package's
assets).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from portal.parsers import max_body_bytes

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Swagger UI sets inline style attributes while it renders; on its page alone
# inline *styles* are allowed (scripts stay 'self').
API_DOCS_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ProbesMiddleware:
    """Health probes and /metrics answer before host validation, the HTTPS redirect and sessions.

    Orchestrators and Prometheus call a pod by its IP over plain HTTP, a `Host`
    that is not in ALLOWED_HOSTS: Django would answer 400 or redirect. These
    views read no cookie and no user, so nothing is skipped that they need.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        from portal import metrics, views

        self.routes = {
            "/livez": ("livez", views.livez),
            "/readyz": ("readyz", views.readyz),
            "/healthz": ("healthz", views.healthz),
            "/metrics": ("metrics", metrics.metrics_view),
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route = self.routes.get(request.path_info)
        if route is None:
            return self.get_response(request)
        request.probe_route = route[0]
        return route[1](request)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = API_DOCS_POLICY if request.path.startswith("/api/docs/") else POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


class BadInput(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def bad_input_response(request: HttpRequest, *, status: int, detail: str) -> HttpResponse:
    """`{"detail": ...}` under /api/ (the shape of DRF's own errors), a small HTML page elsewhere.

    The page is self-contained (no base layout): it must render even when the
    session cookie is what was wrong, so it cannot look up the user.
    """
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=status)
    html = render_to_string("portal/bad_request.html", {"status": status, "detail": detail})
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


class BadInputMiddleware:
    """Refuse, in one place for the whole site and API, request input that PostgreSQL cannot store.

    PostgreSQL's `text` and `jsonb` cannot hold a NUL character, and psycopg
    raises (a 500) when one reaches a query: from a path segment, a query
    parameter, a form field, a cookie (the session lookup) or a header (the
    API token lookup). Such a request gets a 400 before any view runs.

    Request bodies: `Content-Encoding: gzip` (what openlineage-python sends
    with `compression=gzip`) is decoded here for every view, bounded by
    PANTRY_MAX_REQUEST_BODY_BYTES after decompression (413 beyond it); any
    other encoding is a 415. JSON content is checked by `portal.parsers.JSONParser`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            self._check(request)
        except BadInput as exc:
            return bad_input_response(request, status=exc.status, detail=exc.detail)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        if "\x00" in request.path_info or "\x00" in request.path:
            raise BadInput(400, "The address contains a NUL character.")
        _refuse_nul(request.GET, "The query string")
        for name, value in request.COOKIES.items():
            if "\x00" in name or "\x00" in value:
                raise BadInput(400, "A cookie contains a NUL character.")
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                raise BadInput(400, "A request header contains a NUL character.")
        self._decode_body(request)
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and _is_form(request):
            # Django's form limits (DATA_UPLOAD_MAX_*) raise here, outside any
            # view: answered like every other bad input, JSON under /api/.
            try:
                _refuse_nul(request.POST, "A form field")
            except RequestDataTooBig:
                raise BadInput(413, "The form is larger than Pantry accepts.") from None
            except TooManyFieldsSent:
                raise BadInput(400, "The form has more fields than Pantry accepts.") from None
            except TooManyFilesSent:
                raise BadInput(400, "The form has more files than Pantry accepts.") from None

    def _decode_body(self, request: HttpRequest) -> None:
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        limit = max_body_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise BadInput(400, "Content-Length is not a number.") from None
        if length > limit and not _is_form(request):
            # Form posts are bounded by Django's own DATA_UPLOAD_MAX_* settings.
            raise BadInput(413, f"The request body is larger than {limit} bytes.")
        if encoding in ("", "identity"):
            if length and not _is_form(request):
                # Read here, bounded by our limit, so that Django's lower
                # DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB, meant for forms) does
                # not refuse a JSON body under it with a bare 400 when DRF
                # reads `request.body`.
                body = request.read(limit + 1)
                if len(body) > limit:
                    raise BadInput(413, f"The request body is larger than {limit} bytes.")
                request._body = body
                request._stream = io.BytesIO(body)
            return
        if encoding not in ("gzip", "x-gzip"):
            raise BadInput(415, f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding.")
        body = _gunzip(request.read(limit + 1), limit=limit)
        # What follows (DRF's parsers, request.POST) reads the decoded body.
        request._body = body
        request._stream = io.BytesIO(body)
        request.META["CONTENT_LENGTH"] = str(len(body))
        del request.META["HTTP_CONTENT_ENCODING"]


def _is_form(request: HttpRequest) -> bool:
    content_type = request.META.get("CONTENT_TYPE", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _refuse_nul(data, what: str) -> None:
    for key, values in data.lists():
        if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
            raise BadInput(400, f"{what} contains a NUL character, which Pantry cannot store.")


def _gunzip(data: bytes, *, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = decoder.decompress(data, limit + 1)
    except zlib.error:
        raise BadInput(400, "The body is not valid gzip.") from None
    if len(body) > limit or decoder.unconsumed_tail:
        raise BadInput(413, f"The request body is larger than {limit} bytes once decompressed.")
    if not decoder.eof:
        raise BadInput(400, "The gzip body is truncated.")
    return body


class ApiJsonErrorsMiddleware:
    """Errors under /api/ are `{"detail": ...}` JSON, whoever raised them.

    DRF answers its own errors in JSON, but a URL that matches no API route
    (an id that is not a UUID), a CSRF failure or a Django method check
    answer with an HTML page, which an API client cannot read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith("/api/")
            and not request.path_info.startswith("/api/docs/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            try:
                detail = HTTPStatus(response.status_code).phrase
            except ValueError:
                detail = "Error"
            json_response = JsonResponse({"detail": f"{detail}."}, status=response.status_code)
            for header in ("Allow", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response

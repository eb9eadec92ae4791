"""Error pages (400, 403, 404, 500) in the site's layout, wired as handler400/403/404/500.

Each page says what happened in words that reveal nothing the user may not
see (a hidden object and a missing one get the same 404), and offers a way
back: the home page, a search box and the previous page. No inline script or
style, so the strict Content-Security-Policy holds on them too.

The 500 page renders with a plain context: no database, no session, no user,
because whatever failed may be exactly those. API paths get DRF-style JSON
bodies instead of HTML.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

API_PREFIX = "/api/"
MAX_BACK_URL_LENGTH = 2000

# The JSON bodies match DRF's own ({"detail": ...}), so an API client parses
# an unknown route's 404 like any other error.
API_DETAILS = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    500: "A server error occurred.",
}


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _back_url(request: HttpRequest) -> str:
    """The page the user came from, when it is a page of this site (never another origin)."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or len(referer) > MAX_BACK_URL_LENGTH:
        return ""
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 for a bad Host header comes here too
        return ""
    if not url_has_allowed_host_and_scheme(referer, allowed_hosts={host}, require_https=request.is_secure()):
        return ""
    if referer == request.build_absolute_uri():
        return ""  # "back" to the page that failed helps nobody
    return referer


def _render(request: HttpRequest, status: int, context: dict) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": context.get("message") or API_DETAILS[status]}, status=status)
    body = loader.get_template(f"{status}.html").render({"back_url": _back_url(request), **context}, request)
    return HttpResponse(body, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # BadRequest is what Pantry's own code raises for input it refuses, with a
    # message written for the user. Django's other 400s (SuspiciousOperation:
    # bad Host header, too many fields) carry details meant for the log only.
    message = str(exception) if type(exception) is BadRequest else ""
    return _render(request, 400, {"message": message})


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The exception's text is never shown: it may name what the check was about.
    return _render(request, 403, {})


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Neither the exception ("No FeatureGroup matches…") nor anything looked
    # up: a hidden object and a missing one must read the same.
    return _render(request, 404, {})


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": API_DETAILS[500]}, status=500)
    # A plain context (no request): context processors would read the
    # session and the user from the database, which may be what failed.
    try:
        back_url = _back_url(request)
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        back_url = ""
    return HttpResponse(loader.get_template("500.html").render({"back_url": back_url}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted with a missing or stale CSRF token: usually an expired session or an old tab."""
    # Django has already logged the reason (logger django.security.csrf).
    if _is_api(request):
        return JsonResponse({"detail": "CSRF check failed; reload the page and try again."}, status=403)
    body = loader.get_template("403_csrf.html").render({"back_url": _back_url(request)}, request)
    return HttpResponse(body, status=403)

"""Limits: sign-in throttling (django-axes), API request rates, page sizes.

- `AxesBackend`: django-axes' backend, first in AUTHENTICATION_BACKENDS, so a
  locked-out username/address pair is refused before the password or the
  identity provider is consulted. An `authenticate()` with no request (a
  management command, Django's test client) is not a web sign-in: it passes.
- `PersonThrottle` / `TokenThrottle`: the API's request rates
  (`PANTRY_API_RATE_PERSON`, `PANTRY_API_RATE_TOKEN`), counted per signed-in
  person (session) and per personal token. A 429 says when to retry, in the
  API's usual `{"detail": ...}` body with a `Retry-After` header. Every
  endpoint needs a person or a token, so anonymous calls are 401s first.
- `CappedPageNumberPagination`: `?page_size=` up to `PANTRY_API_MAX_PAGE_SIZE`;
  a value that is not a whole number from 1 is a 400, not a page of the default size.
  So is a `?page=` that is not a whole number from 1 (DRF's `last` aside), not a 404
  "Invalid page."; a page past the end stays a 404.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import SimpleRateThrottle

from portal.api_filters import whole_number_from_1


class AxesBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _token(request):
    from identity.models import ApiToken

    return request.auth if isinstance(request.auth, ApiToken) else None


class PersonThrottle(SimpleRateThrottle):
    """A person signed in with a session (the browser, Swagger UI)."""

    scope = "person"

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated or _token(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TokenThrottle(SimpleRateThrottle):
    """Each personal token on its own: one busy script does not starve its owner's other tokens."""

    scope = "token"

    def get_cache_key(self, request, view):
        token = _token(request)
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class CappedPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # read per request, so tests and deployments can change it
        return settings.PANTRY_API_MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        # DRF falls back to the default size for `page_size=abc` or `0`: a typo then reads as
        # "the API ignores my page size". Like an unknown parameter, it is a 400 that says why.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            if not whole_number_from_1(raw):
                raise ValidationError(
                    {
                        self.page_size_query_param: [
                            f"A whole number from 1 (at most {self.max_page_size} are returned)."
                        ]
                    }
                )
        return super().get_page_size(request)

    def get_page_number(self, request, paginator):
        # DRF answers `page=abc` or `0` with 404 "Invalid page.", as if the list had no such page:
        # a malformed parameter is the caller's mistake, a 400 naming it. A well-formed page past
        # the end stays DRF's 404. `last` is DRF's word for the last page.
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings:
            if not whole_number_from_1(raw):
                raise ValidationError({self.page_query_param: ["A whole number from 1."]})
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in (self.page_size_query_param, self.page_query_param):
                parameter["schema"]["minimum"] = 1
        return parameters

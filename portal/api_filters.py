"""One rule for the query parameters of every API endpoint: a parameter the endpoint does not know is a 400.

Kept apart from `portal.api` because DRF imports this module (a default
filter backend) while it is still loading its own generic views.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.filters import BaseFilterBackend

ALWAYS_ALLOWED = frozenset({"format"})  # DRF's renderer override (?format=json)


def whole_number_from_1(raw: str) -> bool:
    """A count in a query parameter (a page, a page size): ASCII digits, at least 1, with the
    surrounding spaces int() ignores. Every API parameter of the kind is checked by this."""
    text = raw.strip()
    return text.isascii() and text.isdigit() and int(text) >= 1


def query_params_check(request, allowed) -> None:
    """400 naming any query parameter the endpoint does not know.

    A misspelt filter (`?serach=`) that is silently ignored returns the whole
    list and looks like a result; refusing it tells the caller at once.
    """
    unknown = sorted(set(request.query_params) - set(allowed) - ALWAYS_ALLOWED)
    if unknown:
        known = ", ".join(sorted(set(allowed))) or "none"
        raise ParseError(f"Unknown query parameter(s): {', '.join(unknown)}. This endpoint takes: {known}.")


class KnownQueryParamsBackend(BaseFilterBackend):
    """Runs first among the filter backends: refuses parameters no filter, paginator or view declares.

    Declared are a view's filterset fields, its paginator's page parameters
    and the names in the view's `extra_query_params`.
    """

    def filter_queryset(self, request, queryset, view):
        allowed = set(getattr(view, "extra_query_params", ()))
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        allowed |= set(getattr(view, "filterset_fields", None) or ())
        paginator = getattr(view, "paginator", None)
        for attr in ("page_query_param", "page_size_query_param", "limit_query_param", "offset_query_param"):
            name = getattr(paginator, attr, None)
            if name:
                allowed.add(name)
        query_params_check(request, allowed)
        return queryset

"""The search page at /catalog/: one search box, live results, facets, paging.

The URL holds the whole query (q, kind, facets, sort, page), so a search can
be shared and bookmarked. htmx requests get only the results fragment.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from catalog.selectors.access import DISCOVERABLE, access_label
from catalog.selectors.search import FACET_TITLES, KINDS, MAX_QUERY_LENGTH, SORTS, search_params_parse, search_run


@login_required
def catalog_list(request: HttpRequest) -> HttpResponse:
    params = search_params_parse(data=request.GET)
    results = search_run(user=request.user, params=params)
    for group in results.results if params.kind == "groups" else ():
        group.access_label = access_label(group.access_level)
        # Found but not readable: the result offers the access request form.
        group.offers_request = group.access_level == DISCOVERABLE and not group.is_deleted
    context = {
        "params": params,
        "results": results,
        "facets": [(name, FACET_TITLES[name], values) for name, values in results.facets.items() if values],
        "kinds": [(kind, kind.capitalize()) for kind in KINDS],
        "sorts": _sort_choices(params.sort, usage_data=results.usage_data),
        "max_query_length": MAX_QUERY_LENGTH,
    }
    # A live update swaps only the facets and results; the search box keeps focus.
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return render(request, "catalog/catalog_list.html#search-body", context)
    return render(request, "catalog/catalog_list.html", context)


def _sort_choices(current: str, *, usage_data: bool) -> list[tuple[str, str]]:
    """Sort options; "Most used" only once usage exists, or labelled as empty when a link asks for it."""
    choices = []
    for value, label in SORTS.items():
        if value == "popular" and not usage_data:
            if current != value:
                continue
            label = f"{label} (no usage data yet)"
        choices.append((value, label))
    return choices


urlpatterns = [
    path("catalog/", catalog_list, name="catalog_list"),
]

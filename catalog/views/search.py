"""Search pages: the catalog search box, live results and facets."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from catalog.selectors import groups as selectors


@login_required
def catalog_list(request: HttpRequest) -> HttpResponse:
    groups = selectors.feature_groups_for_catalog(user=request.user)
    page = Paginator(groups, 20).get_page(request.GET.get("page"))
    return render(request, "catalog/catalog_list.html", {"page": page})


urlpatterns = [
    path("catalog/", catalog_list, name="catalog_list"),
]

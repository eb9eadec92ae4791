"""Every API route under /api/v1/, collected from the apps' API modules.

The root (`/api/v1/`) lists them all: the router's viewsets, and every named
route of each module's `extra_urlpatterns` (with `{id}` where it takes one),
plus the schema and its interactive docs.
"""

import re

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalog.api import accounts, groups, lineage, search
from portal.api import ApiRootView
from usage import api as usage_api

API_MODULES = [accounts, groups, search, lineage, usage_api]


class Router(DefaultRouter):
    APIRootView = ApiRootView


def _label(name: str) -> str:
    return re.sub(r"^api-", "", name)


def _template(route: str) -> str:
    return "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


router = Router()
for module in API_MODULES:
    module.register(router)

urlpatterns = [path("", include(router.urls))]
extra_routes: dict[str, str] = {}
for module in API_MODULES:
    urlpatterns += module.extra_urlpatterns
    routes = {str(p.pattern) for p in module.extra_urlpatterns}
    for pattern in module.extra_urlpatterns:
        route = str(pattern.pattern)
        if not pattern.name or (route.endswith("/") and route[:-1] in routes):
            continue  # the same endpoint also served with a trailing slash
        extra_routes[_label(pattern.name)] = _template(route) if "<" in route else pattern.name
extra_routes.update({"schema": "api-schema", "docs": "api-docs"})
ApiRootView.extra_routes = extra_routes

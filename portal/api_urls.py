"""Every API route under /api/v1/, collected from the apps' API modules."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalog.api import accounts, groups, lineage, search

API_MODULES = [accounts, groups, search, lineage]

router = DefaultRouter()
for module in API_MODULES:
    module.register(router)

urlpatterns = [path("", include(router.urls))]
for module in API_MODULES:
    urlpatterns += module.extra_urlpatterns

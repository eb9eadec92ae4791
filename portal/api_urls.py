"""Every API route under /api/v1/, collected from the apps."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalog import api as catalog_api

router = DefaultRouter()
catalog_api.register(router)

urlpatterns = [
    path("", include(router.urls)),
    *catalog_api.extra_urlpatterns,
]

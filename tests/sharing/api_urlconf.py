"""The site's URLs with the sharing API under /api/v1/ for sure (portal/urls.py includes it too)."""

from django.urls import include, path

from portal.urls import urlpatterns as site

urlpatterns = [path("api/v1/", include("sharing.api_urls")), *site]

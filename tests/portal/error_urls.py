"""The site's URLs plus views that fail on purpose, for the error-page tests.

The handlers are imported from portal.urls, so a test that uses this URLconf
also proves they are wired there.
"""

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("postgresql://pantry:hunter2@db/pantry is down")


def refused(request):
    raise BadRequest("The search words contain a NUL character.")


def suspicious(request):
    raise SuspiciousOperation("Invalid HTTP_HOST header: 'internal-admin.corp'")


def api_boom(request):
    raise RuntimeError("postgresql://pantry:hunter2@db/pantry is down")


urlpatterns = [
    path("test-errors/boom/", boom),
    path("test-errors/refused/", refused),
    path("test-errors/suspicious/", suspicious),
    path("api/v1/test-errors/boom/", api_boom),
    *site_urlpatterns,
]

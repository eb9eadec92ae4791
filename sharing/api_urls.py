"""The sharing API's routes, included under /api/v1/ by portal/urls.py.

Ids in paths are UUIDs: the access helpers answer 404 for anything else
(`sharing.selectors.uuid_or_404`). The API root (`GET /api/v1/`) lists these
routes too, through `ApiRootView.extra_routes` (docs/api.md).
"""

from rest_framework.routers import SimpleRouter

from portal.api import ApiRootView
from sharing import api

router = SimpleRouter()
api.register(router)

urlpatterns = router.urls

_listed = {prefix: f"{basename}-list" for prefix, _viewset, basename in router.registry}
_listed["notifications-read"] = "notification-mark-read"
ApiRootView.extra_routes = {**ApiRootView.extra_routes, **_listed}

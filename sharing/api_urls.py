"""The sharing API's routes, included under /api/v1/ by portal/urls.py."""

from rest_framework.routers import SimpleRouter

from sharing import api

router = SimpleRouter()
api.register(router)

urlpatterns = router.urls

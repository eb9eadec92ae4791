from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from identity import views as identity_views
from portal import errors, metrics, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    # Served by portal.middleware.ProbesMiddleware before host checks; listed for reverse() and the matrix.
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/login/", identity_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Behind sign-in (SERVE_PERMISSIONS): the schema answers 401 to anonymous callers, the docs page
    # sends people to the login page.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/v1/", include("portal.api_urls")),
    path("api/v1/", include("sharing.api_urls")),
    path("", include("identity.urls")),
    path("", include("sharing.urls")),
    path("", include("catalog.urls")),
    path("", include("usage.urls")),
]

# Error pages in the site's layout (portal/errors.py).
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

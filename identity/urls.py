from django.urls import path
from django.views.generic import RedirectView

from identity import oidc, views

app_name = "identity"

urlpatterns = [
    path("oidc/authenticate/", oidc.OidcLoginStartView.as_view(), name="oidc_login"),
    path("oidc/callback/", oidc.OidcCallbackView.as_view(), name="oidc_callback"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/new/", views.token_create, name="token_create"),
    path("tokens/<uuid:token_uuid>/revoke/", views.token_revoke, name="token_revoke"),
    # The single DRF token page that personal tokens replaced.
    path("api-token/", RedirectView.as_view(pattern_name="identity:token_list", permanent=False), name="api_token"),
    path("operators/tokens/", views.token_all, name="token_all"),
    path("operators/people/", views.people_list, name="people_list"),
    path("operators/people/<str:username>/", views.person_detail, name="person_detail"),
    path("operators/people/<str:username>/access/", views.person_access, name="person_access"),
    path("operators/memberships/", views.membership_list, name="membership_list"),
    path("operators/memberships/new/", views.membership_create, name="membership_create"),
    path(
        "operators/people/<str:username>/memberships/<str:account_id>/",
        views.membership_edit,
        name="membership_edit",
    ),
    path(
        "operators/people/<str:username>/memberships/<str:account_id>/remove/",
        views.membership_delete,
        name="membership_delete",
    ),
    path("operators/role-mappings/", views.mapping_list, name="mapping_list"),
    path("operators/role-mappings/<uuid:mapping_uuid>/", views.mapping_edit, name="mapping_edit"),
    path("operators/role-mappings/<uuid:mapping_uuid>/remove/", views.mapping_delete, name="mapping_delete"),
    path("operators/audit/", views.audit_list, name="audit_list"),
    path("operators/audit.csv", views.audit_csv, name="audit_csv"),
]

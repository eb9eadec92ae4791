from django.urls import path

from catalog.views import accounts, groups

app_name = "catalog"

urlpatterns = [
    path("aws-accounts/", accounts.account_list, name="account_list"),
    path("aws-accounts/new/", accounts.account_create, name="account_create"),
    path("aws-accounts/<uuid:account_uuid>/", accounts.account_detail, name="account_detail"),
    path("aws-accounts/<uuid:account_uuid>/edit/", accounts.account_edit, name="account_edit"),
    path("aws-accounts/<uuid:account_uuid>/sync/", accounts.account_sync, name="account_sync"),
    path("sync-runs/", accounts.syncrun_list, name="syncrun_list"),
    path("sync-runs/<uuid:run_uuid>/", accounts.syncrun_detail, name="syncrun_detail"),
    path("catalog/", groups.catalog_list, name="catalog_list"),
    path("groups/<uuid:group_uuid>/", groups.group_detail, name="group_detail"),
    path("groups/<uuid:group_uuid>/features/<str:feature_name>/", groups.feature_detail, name="feature_detail"),
]

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("aws-accounts/", views.account_list, name="account_list"),
    path("aws-accounts/new/", views.account_create, name="account_create"),
    path("aws-accounts/<uuid:account_uuid>/", views.account_detail, name="account_detail"),
    path("aws-accounts/<uuid:account_uuid>/edit/", views.account_edit, name="account_edit"),
    path("aws-accounts/<uuid:account_uuid>/sync/", views.account_sync, name="account_sync"),
    path("sync-runs/", views.syncrun_list, name="syncrun_list"),
    path("sync-runs/<uuid:run_uuid>/", views.syncrun_detail, name="syncrun_detail"),
    path("catalog/", views.catalog_list, name="catalog_list"),
]
urlpatterns += [
    path("groups/<uuid:group_uuid>/", views.group_detail, name="group_detail"),
    path("groups/<uuid:group_uuid>/features/<str:feature_name>/", views.feature_detail, name="feature_detail"),
]

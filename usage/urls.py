from django.urls import path

from usage import views

app_name = "usage"

urlpatterns = [
    path("usage/", views.dashboard, name="dashboard"),
    path("usage/export/<slug:chart>.csv", views.dashboard_csv, name="dashboard_csv"),
    path("usage/grants/", views.grants_usage, name="grants"),
    path("usage/sources/", views.source_list, name="source_list"),
    path("usage/sources/new/", views.source_create, name="source_create"),
    path("usage/sources/<uuid:source_uuid>/", views.source_detail, name="source_detail"),
    path("usage/sources/<uuid:source_uuid>/edit/", views.source_edit, name="source_edit"),
    path("usage/sources/<uuid:source_uuid>/delete/", views.source_delete, name="source_delete"),
    path("usage/sources/<uuid:source_uuid>/replay/", views.source_replay, name="source_replay"),
]

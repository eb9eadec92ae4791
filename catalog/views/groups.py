"""Catalog listing, feature group pages and feature pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from catalog.models import FeatureGroup


def get_feature_group_for_user(user, group_uuid):
    """The one way views fetch a feature group: invisible means 404."""
    return get_object_or_404(FeatureGroup.objects.visible_to(user).select_related("account"), uuid=group_uuid)


@login_required
def group_detail(request: HttpRequest, group_uuid) -> HttpResponse:
    group = get_feature_group_for_user(request.user, group_uuid)
    features = group.features.order_by("position", "name")
    return render(request, "catalog/group_detail.html", {"group": group, "features": features})


@login_required
def feature_detail(request: HttpRequest, group_uuid, feature_name: str) -> HttpResponse:
    group = get_feature_group_for_user(request.user, group_uuid)
    feature = get_object_or_404(group.features, name=feature_name)
    return render(request, "catalog/feature_detail.html", {"group": group, "feature": feature})


urlpatterns = [
    path("groups/<uuid:group_uuid>/", group_detail, name="group_detail"),
    path("groups/<uuid:group_uuid>/features/<str:feature_name>/", feature_detail, name="feature_detail"),
]

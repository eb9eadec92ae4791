"""REST API for feature groups and features (/api/v1/)."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from catalog.filters import FeatureGroupFilter
from catalog.models import Feature, FeatureGroup
from catalog.selectors import groups as selectors


class FeatureSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Feature
        fields = ["id", "name", "type", "collection_type", "description", "pantry_description", "parameters"]


class FeatureGroupSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    features = FeatureSerializer(many=True, read_only=True)

    class Meta:
        model = FeatureGroup
        fields = [
            "id",
            "arn",
            "name",
            "account_id",
            "account_name",
            "region",
            "description",
            "pantry_description",
            "record_identifier_feature",
            "event_time_feature",
            "online_store_enabled",
            "offline_store_enabled",
            "offline_s3_uri",
            "glue_database",
            "glue_table",
            "status",
            "tags",
            "aws_created_at",
            "aws_modified_at",
            "feature_count",
            "features",
        ]


class FeatureGroupViewSet(viewsets.ReadOnlyModelViewSet):
    """Feature groups you may see."""

    serializer_class = FeatureGroupSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = FeatureGroupFilter

    def get_queryset(self):
        return selectors.feature_groups_for_catalog(user=self.request.user)


def register(router) -> None:
    router.register("feature-groups", FeatureGroupViewSet, basename="featuregroup")


extra_urlpatterns: list = []

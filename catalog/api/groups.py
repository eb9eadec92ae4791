"""REST API for feature groups and features (/api/v1/).

The same gate as the pages: everything is fetched through the selectors'
`visible_to` querysets, so an invisible group or feature is a 404. PATCH
needs the owner role in the group's account (`can_edit_group`), else 403,
and goes through the description services like the edit forms do.
"""

from __future__ import annotations

import django_filters
from django.contrib.postgres.search import SearchQuery
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.filters import FeatureGroupFilter
from catalog.models import DescriptionEdit, Feature, FeatureGroup
from catalog.permissions import GroupEditPermission
from catalog.selectors import access
from catalog.selectors import groups as selectors
from catalog.selectors.search import MAX_QUERY_LENGTH, TEXT_CONFIG
from catalog.services import descriptions as services

# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


def filter_words(queryset, name, value):
    """Full-text match on the stored search vector, websearch syntax ("phrase", -exclude, or)."""
    value = " ".join(value.split())[:MAX_QUERY_LENGTH]
    if not value:
        return queryset
    return queryset.filter(search_vector=SearchQuery(value, search_type="websearch", config=TEXT_CONFIG))


class FeatureGroupApiFilter(FeatureGroupFilter):
    q = django_filters.CharFilter(
        method=filter_words,
        label="Words to match (websearch syntax) in names, descriptions, feature names and tags; "
        "for ranking, facets and typo tolerance use /api/v1/search/.",
    )
    tag = django_filters.CharFilter(
        method="filter_tag", label="Tag key, or key=value (e.g. `team` or `team=payments`)."
    )
    status = django_filters.CharFilter(field_name="status", lookup_expr="iexact")

    class Meta(FeatureGroupFilter.Meta):
        fields = [*FeatureGroupFilter.Meta.fields, "q", "tag", "status"]

    def filter_tag(self, queryset, name, value):
        key, sep, tag_value = value.partition("=")
        key = key.strip()
        if not key:
            return queryset
        if sep:
            # jsonb containment, served by the GIN index on tags when there is one.
            return queryset.filter(tags__contains={key: tag_value.strip()})
        return queryset.filter(tags__has_key=key)


class FeatureApiFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=filter_words, label="Words to match (websearch syntax) in the feature's name and descriptions."
    )
    group = django_filters.UUIDFilter(field_name="feature_group__uuid", label="Feature group id.")
    name = django_filters.CharFilter(lookup_expr="icontains")
    type = django_filters.ChoiceFilter(choices=Feature.Type.choices)

    class Meta:
        model = Feature
        fields = ["q", "group", "name", "type"]


# ---------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------


class FeatureSerializer(serializers.ModelSerializer):
    """A feature inside its group's representation."""

    id = serializers.UUIDField(source="uuid", read_only=True)

    class Meta:
        model = Feature
        fields = [
            "id",
            "name",
            "position",
            "type",
            "collection_type",
            "collection_config",
            "description",
            "pantry_description",
            "parameters",
        ]
        read_only_fields = fields


class FeatureDetailSerializer(FeatureSerializer):
    """A feature on its own: names its group."""

    group = serializers.UUIDField(source="feature_group.uuid", read_only=True)
    group_arn = serializers.CharField(source="feature_group.arn", read_only=True)
    group_name = serializers.CharField(source="feature_group.name", read_only=True)

    class Meta(FeatureSerializer.Meta):
        fields = ["id", "group", "group_arn", "group_name", *FeatureSerializer.Meta.fields[1:]]
        read_only_fields = fields


class FeatureGroupSerializer(serializers.ModelSerializer):
    """A feature group without its features (list pages stay fast on wide groups)."""

    id = serializers.UUIDField(source="uuid", read_only=True)
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    team = serializers.CharField(source="account.team", read_only=True)
    access_level = serializers.SerializerMethodField()
    access_label = serializers.SerializerMethodField()

    class Meta:
        model = FeatureGroup
        fields = [
            "id",
            "arn",
            "name",
            "account_id",
            "account_name",
            "team",
            "region",
            "description",
            "pantry_description",
            "record_identifier_feature",
            "event_time_feature",
            "online_store_enabled",
            "online_store_config",
            "offline_store_enabled",
            "offline_s3_uri",
            "glue_database",
            "glue_table",
            "table_format",
            "status",
            "offline_store_status",
            "tags",
            "aws_created_at",
            "aws_modified_at",
            "deleted_at",
            "feature_count",
            "access_level",
            "access_label",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=list(access.ACCESS_SLUGS)))
    def get_access_level(self, group: FeatureGroup) -> str:
        return access.access_slug(getattr(group, "access_level", access.NONE))

    def get_access_label(self, group: FeatureGroup) -> str:
        return access.access_label(getattr(group, "access_level", access.NONE))


class FeatureGroupDetailSerializer(FeatureGroupSerializer):
    """A feature group with every feature, in schema order."""

    features = FeatureSerializer(many=True, read_only=True)

    class Meta(FeatureGroupSerializer.Meta):
        fields = [*FeatureGroupSerializer.Meta.fields, "features"]
        read_only_fields = fields


class FeatureGroupUpdateSerializer(serializers.Serializer):
    pantry_description = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=services.MAX_DESCRIPTION_LENGTH
    )


class FeatureUpdateSerializer(serializers.Serializer):
    pantry_description = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=services.MAX_DESCRIPTION_LENGTH
    )
    parameters = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="The complete set of parameters after the edit (keys left out are removed).",
    )

    def validate_parameters(self, value: dict) -> dict:
        try:
            services.parameters_validate(value)
        except DjangoValidationError as exc:
            raise ValidationError(exc.messages) from exc
        return value


class FeatureUpdateResultSerializer(FeatureDetailSerializer):
    """The feature after a PATCH, with what happened to the AWS write-back."""

    aws_write = serializers.SerializerMethodField(
        help_text="unchanged (nothing to save), pantry_only (the account does not allow write-back), "
        "written, or failed (see aws_error; the Pantry edit is kept)."
    )
    aws_error = serializers.SerializerMethodField()

    class Meta(FeatureDetailSerializer.Meta):
        fields = [*FeatureDetailSerializer.Meta.fields, "aws_write", "aws_error"]
        read_only_fields = fields

    def get_aws_write(self, feature: Feature) -> str:
        edit: DescriptionEdit | None = self.context.get("edit")
        if edit is None:
            return "unchanged"
        if not feature.feature_group.account.metadata_write_allowed:
            return "pantry_only"
        if edit.written_to_aws:
            return "written"
        return "failed" if edit.aws_error else "unchanged"

    def get_aws_error(self, feature: Feature) -> str:
        edit: DescriptionEdit | None = self.context.get("edit")
        return edit.aws_error if edit is not None else ""


# ---------------------------------------------------------------------------
# Viewsets
# ---------------------------------------------------------------------------

INCLUDE_VALUES = ("features",)
INCLUDE_PARAMETER = OpenApiParameter(
    "include",
    OpenApiTypes.STR,
    enum=list(INCLUDE_VALUES),
    description="`features` adds each group's full feature list to the list response; any other value is a 400.",
)


def include_param_errors(*, data) -> dict[str, list[str]]:
    """What the API refuses in `include` (a QueryDict's): {"include": [why]}, as the search API words it.

    An unknown value silently ignored would answer without the features asked for, which looks
    like groups without features.
    """
    values = data.getlist("include")
    if len(values) > 1:
        return {"include": ["Give it once."]}
    if values and values[0] not in INCLUDE_VALUES:
        return {"include": [f"{values[0]!r} is not one of: {', '.join(INCLUDE_VALUES)}."]}
    return {}


def _features_prefetch() -> Prefetch:
    return Prefetch("features", queryset=Feature.objects.order_by("position", "name"))


@extend_schema_view(
    list=extend_schema(
        summary="Feature groups you may see",
        description="Live (not deleted) groups, without features unless `include=features`.",
        parameters=[INCLUDE_PARAMETER],
    ),
    retrieve=extend_schema(
        summary="One feature group with its features", description="Deleted groups stay readable by id."
    ),
    partial_update=extend_schema(
        summary="Edit a feature group's Pantry description (owners)",
        request=FeatureGroupUpdateSerializer,
        responses=FeatureGroupDetailSerializer,
    ),
)
class FeatureGroupViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Feature groups you may see; owners PATCH `pantry_description`."""

    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = FeatureGroupApiFilter
    extra_query_params = ["include"]
    # PATCH: 404 when invisible, then 403 unless an owner, before the body is read.
    permission_classes = [GroupEditPermission]
    # PUT would mean "replace the group", which Pantry cannot do: AWS owns it.
    http_method_names = ["get", "patch", "head", "options"]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if errors := include_param_errors(data=request.query_params):
            raise ValidationError(errors)

    def _include_features(self) -> bool:
        return self.action != "list" or self.request.query_params.get("include") == "features"

    def get_queryset(self):
        groups = selectors.feature_groups_visible(user=self.request.user, include_deleted=self.action != "list")
        groups = groups.order_by("account__name", "region", "name")
        if self._include_features():
            groups = groups.prefetch_related(_features_prefetch())
        return groups

    def get_serializer_class(self):
        if self.action == "partial_update":
            return FeatureGroupUpdateSerializer
        return FeatureGroupDetailSerializer if self._include_features() else FeatureGroupSerializer

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        group = self.get_object()
        payload = FeatureGroupUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.feature_group_description_update(
                group=group, editor=request.user, description=payload.validated_data["pantry_description"]
            )
        except DjangoValidationError as exc:
            raise ValidationError({"pantry_description": exc.messages}) from exc
        fresh = self.get_queryset().get(pk=group.pk)
        return Response(FeatureGroupDetailSerializer(fresh, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="Features of the groups you may see"),
    retrieve=extend_schema(summary="One feature"),
    partial_update=extend_schema(
        summary="Edit a feature's Pantry description and parameters (owners)",
        description="Where the account allows it, the description and parameters are also written to AWS "
        "(UpdateFeatureMetadata); `aws_write` and `aws_error` say how that went. An AWS failure keeps the edit.",
        request=FeatureUpdateSerializer,
        responses=FeatureUpdateResultSerializer,
    ),
)
class FeatureViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Features of the groups you may see; owners PATCH `pantry_description` and `parameters`."""

    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = FeatureApiFilter
    permission_classes = [GroupEditPermission]
    serializer_class = FeatureDetailSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.features_visible(user=self.request.user, include_deleted=self.action != "list")

    def get_serializer_class(self):
        if self.action == "partial_update":
            return FeatureUpdateSerializer
        return FeatureDetailSerializer

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        feature = self.get_object()
        payload = FeatureUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            edit = services.feature_description_update(
                feature=feature,
                editor=request.user,
                description=data.get("pantry_description", feature.pantry_description),
                parameters=data.get("parameters", feature.parameters or {}),
            )
        except DjangoValidationError as exc:
            field = "parameters" if getattr(exc, "code", None) == "parameters_read_only" else "pantry_description"
            raise ValidationError({field: exc.messages}) from exc
        context = {**self.get_serializer_context(), "edit": edit}
        return Response(FeatureUpdateResultSerializer(feature, context=context).data)


def register(router) -> None:
    router.register("feature-groups", FeatureGroupViewSet, basename="featuregroup")
    router.register("features", FeatureViewSet, basename="feature")


extra_urlpatterns: list = []

"""REST API for lineage graphs and OpenLineage ingestion (/api/v1/).

- `GET  /api/v1/feature-groups/{id}/lineage/?depth=N` (or `up=`/`down=`): the graph, 404 when invisible.
- `POST /api/v1/lineage`: an OpenLineage RunEvent, authenticated by an API token sent as
  `Authorization: Bearer <token>` (what openlineage-python's `api_key` auth sends) or `Token <token>`.
- `GET  /api/v1/lineage/events/`: recent events (operators and governance: all; others: their own).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import openlineage as ol
from catalog.models import FeatureGroup, OpenLineageEvent
from catalog.selectors import lineage as selectors
from catalog.services import lineage as services
from portal.parsers import JSONParser


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's API token, sent as `Authorization: Bearer <token>` (OpenLineage clients' api_key auth)."""

    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Your API token (from /api-token/)."}


# --- graph -------------------------------------------------------------------


class LineageNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    name = serializers.CharField()
    key = serializers.CharField()
    url = serializers.CharField(help_text="Page of a feature-group node; empty for other nodes.")
    feature_group = serializers.UUIDField(allow_null=True)
    account_id = serializers.CharField()
    side = serializers.ChoiceField(choices=["root", "upstream", "downstream"])
    hops = serializers.IntegerField()
    properties = serializers.DictField()


class LineageEdgeSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()
    target = serializers.CharField()
    origins = serializers.ListField(child=serializers.ChoiceField(choices=["sagemaker", "openlineage", "manual"]))
    relations = serializers.ListField(child=serializers.CharField())
    manual_edge = serializers.UUIDField(allow_null=True)


class LineageGraphSerializer(serializers.Serializer):
    root = serializers.CharField()
    depth_up = serializers.IntegerField()
    depth_down = serializers.IntegerField()
    truncated = serializers.BooleanField()
    nodes = LineageNodeSerializer(many=True)
    edges = LineageEdgeSerializer(many=True)


class LineageQuerySerializer(serializers.Serializer):
    # Values above the cap are clamped, not refused: a shared link with
    # depth=9 still shows something sensible.
    depth = serializers.IntegerField(min_value=0, required=False)
    up = serializers.IntegerField(min_value=0, required=False)
    down = serializers.IntegerField(min_value=0, required=False)


def lineage_depths(params) -> tuple[int, int]:
    """(depth_up, depth_down) from `depth`, `up` and `down`; raises ValidationError (400) on bad values."""
    query = LineageQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    depth = selectors.clamp_depth(query.validated_data.get("depth"))
    up = selectors.clamp_depth(query.validated_data.get("up"), default=depth)
    down = selectors.clamp_depth(query.validated_data.get("down"), default=depth)
    return up, down


class FeatureGroupLineageView(APIView):
    """The lineage graph around a feature group you may see."""

    @extend_schema(
        operation_id="feature_groups_lineage",
        parameters=[
            OpenApiParameter("depth", int, description=f"Hops each way (0–{selectors.MAX_DEPTH}, default 2)."),
            OpenApiParameter("up", int, description="Hops upstream; overrides depth."),
            OpenApiParameter("down", int, description="Hops downstream; overrides depth."),
        ],
        responses=LineageGraphSerializer,
    )
    def get(self, request, id):  # noqa: A002 - the URL's name for the group's uuid
        group = get_object_or_404(FeatureGroup.objects.visible_to(request.user).select_related("account"), uuid=id)
        up, down = lineage_depths(request.query_params)
        graph = selectors.lineage_graph(user=request.user, group=group, depth_up=up, depth_down=down)
        return Response(LineageGraphSerializer(graph).data)


# --- OpenLineage ingestion --------------------------------------------------------

_IngestResponse = inline_serializer(
    "OpenLineageIngestResponse",
    {
        "id": serializers.UUIDField(),
        "created": serializers.BooleanField(),
        "matched": serializers.ListField(child=serializers.DictField()),
        "unmatched": serializers.ListField(child=serializers.DictField()),
        "edges_created": serializers.IntegerField(),
    },
)


class OpenLineageIngestView(APIView):
    """Receive an OpenLineage RunEvent (the path openlineage-python's HTTP transport posts to)."""

    authentication_classes = [BearerTokenAuthentication, TokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]  # size, depth and unstorable strings refused (portal/parsers.py)

    @extend_schema(
        operation_id="lineage_ingest",
        request=ol.RunEventSerializer,
        responses={201: _IngestResponse, 200: _IngestResponse},
        description="201 when the event is new, 200 when the same event (run, type, time, job) was stored before.",
    )
    def post(self, request):
        serializer = ol.RunEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.openlineage_event_ingest(
            payload=request.data, validated=serializer.validated_data, user=request.user
        )
        event = result.event
        body = {
            "id": str(event.uuid),
            "created": result.created,
            "matched": event.matched,
            "unmatched": event.unmatched,
            "edges_created": result.edges_created,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class OpenLineageEventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.username", default=None, read_only=True)
    matched = serializers.ListField(child=serializers.DictField(), read_only=True)
    unmatched = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = OpenLineageEvent
        fields = [
            "id",
            "event_type",
            "event_time",
            "run_id",
            "job_namespace",
            "job_name",
            "producer",
            "matched",
            "unmatched",
            "submitted_by",
            "received_at",
        ]


class OpenLineageEventListView(generics.ListAPIView):
    """Recent OpenLineage events, with the datasets each matched and did not match."""

    serializer_class = OpenLineageEventSerializer
    authentication_classes = [SessionAuthentication, TokenAuthentication, BearerTokenAuthentication]
    filterset_fields = ["event_type", "job_namespace", "job_name", "run_id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return OpenLineageEvent.objects.none()
        return selectors.openlineage_events_visible_to(user=self.request.user)


def register(router) -> None:
    pass


extra_urlpatterns: list = [
    path("feature-groups/<uuid:id>/lineage/", FeatureGroupLineageView.as_view(), name="featuregroup-lineage"),
    path("lineage", OpenLineageIngestView.as_view(), name="lineage-ingest"),
    path("lineage/events/", OpenLineageEventListView.as_view(), name="lineage-events"),
]

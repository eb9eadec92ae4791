"""REST API for lineage graphs and OpenLineage ingestion (/api/v1/).

- `GET  /api/v1/feature-groups/{id}/lineage/?depth=N` (or `up=`/`down=`): the graph, 404 when invisible.
- `POST /api/v1/lineage`: an OpenLineage RunEvent, authenticated by a personal API token with
  write scope, sent as `Authorization: Bearer <token>` (what openlineage-python's `api_key` auth
  sends; the authentication class is the API's default, `identity.authentication`).
- `GET  /api/v1/lineage/events/`: recent events (operators and governance: all; others: their own).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from catalog import openlineage as ol
from catalog.models import FeatureGroup, LineageEdge, OpenLineageEvent
from catalog.permissions import can_edit_group
from catalog.scope import visibility_scope
from catalog.selectors import lineage as selectors
from catalog.services import lineage as services
from portal.api import error_responses
from portal.api_filters import query_params_check
from portal.parsers import JSONParser

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
    edge_ids = serializers.ListField(
        child=serializers.UUIDField(), help_text="Stored edges drawn as this one; owners hide or unhide by any of them."
    )


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
    depth = serializers.IntegerField(
        min_value=0, required=False, help_text=f"Hops each way (0–{selectors.MAX_DEPTH}, default 2; more is clamped)."
    )
    up = serializers.IntegerField(min_value=0, required=False, help_text="Hops upstream; overrides depth.")
    down = serializers.IntegerField(min_value=0, required=False, help_text="Hops downstream; overrides depth.")


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
        # The query serializer itself, so the schema states what it refuses (minimum 0).
        parameters=[LineageQuerySerializer],
        responses=LineageGraphSerializer,
    )
    def get(self, request, id):  # noqa: A002 - the URL's name for the group's uuid
        scope = visibility_scope(request.user)  # read once: the gate and the graph's node gate
        group = get_object_or_404(
            FeatureGroup.objects.visible_to(request.user, scope=scope).select_related("account"), uuid=id
        )
        query_params_check(request, ("depth", "up", "down"))
        up, down = lineage_depths(request.query_params)
        graph = selectors.lineage_graph(user=request.user, group=group, depth_up=up, depth_down=down, scope=scope)
        return Response(LineageGraphSerializer(graph).data)


class HiddenEdgeSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Pass to unhide.")
    source = serializers.CharField()
    source_kind = serializers.CharField()
    target = serializers.CharField()
    target_kind = serializers.CharField()
    origins = serializers.ListField(child=serializers.CharField())
    hidden_by = serializers.CharField()
    hidden_at = serializers.DateTimeField()


class _OwnerLineageView(APIView):
    """Lineage moderation on one group: 404 when invisible, 403 unless an owner of its account."""

    def group_for_owner(self, request, group_id) -> FeatureGroup:
        group = get_object_or_404(
            FeatureGroup.objects.visible_to(request.user).select_related("account"), uuid=group_id
        )
        if not can_edit_group(request.user, group):
            raise PermissionDenied("Only owners of the group's account hide or unhide its lineage edges.")
        query_params_check(request, ())
        return group


class FeatureGroupHiddenEdgesView(_OwnerLineageView):
    """Edges on this group that its owners hid (owners only)."""

    @extend_schema(
        operation_id="feature_groups_lineage_hidden_edges",
        responses={200: HiddenEdgeSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, id):  # noqa: A002
        group = self.group_for_owner(request, id)
        return Response(
            HiddenEdgeSerializer(selectors.lineage_hidden_edges(user=request.user, group=group), many=True).data
        )


_HideResult = inline_serializer("LineageEdgeHideResult", {"changed": serializers.IntegerField()})


class FeatureGroupEdgeHideView(_OwnerLineageView):
    """Hide an edge on this group, for everyone (owners). It stays stored, with who hid it and when."""

    hide = True

    @extend_schema(request=None, responses={200: _HideResult, **error_responses(401, 403, 404)})
    def post(self, request, id, edge_id):  # noqa: A002
        group = self.group_for_owner(request, id)
        action = services.lineage_edge_hide if self.hide else services.lineage_edge_unhide
        try:
            changed = action(user=request.user, group=group, edge_uuid=edge_id)
        except LineageEdge.DoesNotExist:
            raise NotFound("No such edge on this feature group.") from None
        return Response({"changed": changed})


class FeatureGroupEdgeUnhideView(FeatureGroupEdgeHideView):
    """Show a hidden edge of this group again (owners)."""

    hide = False


# --- OpenLineage ingestion --------------------------------------------------------


class _DatasetOutcomeSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="namespace::name as sent.")
    role = serializers.ChoiceField(choices=["input", "output", "dataset"])
    feature_group = serializers.CharField(required=False, help_text="ARN of the group it matched.")
    matched_by = serializers.ChoiceField(choices=["arn", "glue", "s3"], required=False)
    reason = serializers.CharField(required=False, help_text="Why it was rejected.")


class OpenLineageIngestResponseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=OpenLineageEvent.Kind.values)
    created = serializers.BooleanField()
    matched = _DatasetOutcomeSerializer(many=True)
    unmatched = _DatasetOutcomeSerializer(many=True)
    rejected = _DatasetOutcomeSerializer(
        many=True, help_text="Parts the submitter may not record (producing another account's group); not written."
    )
    edges_created = serializers.IntegerField()


class OpenLineageIngestView(APIView):
    """Receive an OpenLineage RunEvent, JobEvent or DatasetEvent (where openlineage-python's HTTP transport posts).

    Served at `/api/v1/lineage` and `/api/v1/lineage/`. Bodies may be gzip
    (`Content-Encoding: gzip`, decoded by `portal.middleware.BadInputMiddleware`).
    """

    # Tokens only (the API's token authentication, `identity.authentication`):
    # emitters are scripts, and a browser session alone must not post lineage.
    authentication_classes = [
        cls for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES if not issubclass(cls, SessionAuthentication)
    ]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]  # size, depth and unstorable strings refused (portal/parsers.py)

    @extend_schema(
        operation_id="lineage_ingest",
        request=PolymorphicProxySerializer(
            component_name="OpenLineageEvent",
            serializers=[ol.RunEventSerializer, ol.JobEventSerializer, ol.DatasetEventSerializer],
            resource_type_field_name=None,
        ),
        responses={
            201: OpenLineageIngestResponseSerializer,
            200: OpenLineageIngestResponseSerializer,
            **error_responses(400, 401, 403, 413, 415),
        },
        description="201 when the event is new, 200 when the same event (same submitter, kind, run, type, time, "
        "job or dataset) was stored before. Parts the submitter may not record are listed in `rejected`.",
    )
    def post(self, request):
        kind = ol.event_kind(request.data)
        serializer = ol.EVENT_SERIALIZERS[kind](data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.openlineage_event_ingest(
            payload=request.data, validated=serializer.validated_data, user=request.user, kind=kind
        )
        event = result.event
        body = {
            "id": str(event.uuid),
            "kind": event.kind,
            "created": result.created,
            "matched": event.matched,
            "unmatched": event.unmatched,
            "rejected": event.rejected,
            "edges_created": result.edges_created,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@extend_schema(exclude=True)
class OpenLineageIngestSlashView(OpenLineageIngestView):
    """The same endpoint with a trailing slash (documented once, without it)."""


class OpenLineageEventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.username", default=None, read_only=True)
    matched = _DatasetOutcomeSerializer(many=True, read_only=True)
    unmatched = _DatasetOutcomeSerializer(many=True, read_only=True)
    rejected = _DatasetOutcomeSerializer(many=True, read_only=True)

    class Meta:
        model = OpenLineageEvent
        fields = [
            "id",
            "kind",
            "event_type",
            "event_time",
            "run_id",
            "job_namespace",
            "job_name",
            "producer",
            "matched",
            "unmatched",
            "rejected",
            "submitted_by",
            "received_at",
        ]


class OpenLineageEventListView(generics.ListAPIView):
    """Recent OpenLineage events, with the datasets each matched and did not match."""

    serializer_class = OpenLineageEventSerializer
    filterset_fields = ["kind", "event_type", "job_namespace", "job_name", "run_id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return OpenLineageEvent.objects.none()
        return selectors.openlineage_events_visible_to(user=self.request.user)


def register(router) -> None:
    pass


extra_urlpatterns: list = [
    path("feature-groups/<uuid:id>/lineage/", FeatureGroupLineageView.as_view(), name="featuregroup-lineage"),
    path(
        "feature-groups/<uuid:id>/lineage/hidden-edges/",
        FeatureGroupHiddenEdgesView.as_view(),
        name="featuregroup-lineage-hidden-edges",
    ),
    path(
        "feature-groups/<uuid:id>/lineage/edges/<uuid:edge_id>/hide/",
        FeatureGroupEdgeHideView.as_view(),
        name="featuregroup-lineage-edge-hide",
    ),
    path(
        "feature-groups/<uuid:id>/lineage/edges/<uuid:edge_id>/unhide/",
        FeatureGroupEdgeUnhideView.as_view(),
        name="featuregroup-lineage-edge-unhide",
    ),
    # openlineage-python joins its url and endpoint; configurations differ on the slash.
    path("lineage", OpenLineageIngestView.as_view(), name="lineage"),
    path("lineage/", OpenLineageIngestSlashView.as_view(), name="lineage-slash"),
    path("lineage/events/", OpenLineageEventListView.as_view(), name="lineage-events"),
]

"""Lineage pages: the group's lineage (graph + the same edges as a table), owners' manual edges,
and recent OpenLineage events (API tokens live in `identity`: /tokens/).

The group page includes `catalog/_lineage_panel.html`, which loads the edge
table from `group_lineage` with htmx and draws the graph from the JSON API;
without JavaScript the panel links to the full lineage page, which renders
everything on the server.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from catalog.models import LineageEdge, LineageNode
from catalog.permissions import can_edit_group
from catalog.scope import visibility_scope
from catalog.selectors import lineage as selectors
from catalog.services import lineage as services
from catalog.views.groups import can_edit_gated, get_feature_group_for_user


class LineageEdgeForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[
            (services.UPSTREAM, "Upstream: it feeds this group"),
            (services.DOWNSTREAM, "Downstream: this group feeds it"),
        ]
    )
    kind = forms.ChoiceField(choices=LineageNode.Kind.choices)
    identifier = forms.CharField(
        max_length=1000,
        help_text="An S3 URI, a Glue table (database.table), an ARN, a name, or a feature group's name or ARN.",
    )
    name = forms.CharField(max_length=200, required=False, help_text="Optional label to show instead.")


def _depth(request: HttpRequest) -> int:
    try:
        raw = request.GET.get("depth") or request.POST.get("depth") or selectors.DEFAULT_DEPTH
        return selectors.clamp_depth(int(raw))
    except (TypeError, ValueError):
        return selectors.DEFAULT_DEPTH


def _lineage_context(
    request: HttpRequest, group, *, form: LineageEdgeForm | None = None, depth: int | None = None, scope=None
):
    """`scope`: the user's visibility scope if the view resolved it for the gate (saves reading it again)."""
    depth = _depth(request) if depth is None else depth
    graph = selectors.lineage_graph(user=request.user, group=group, depth_up=depth, depth_down=depth, scope=scope)
    nodes = graph.nodes_by_id
    rows = [(nodes[e.source], e, nodes[e.target]) for e in graph.edges]
    can_edit = can_edit_gated(request.user, group)
    return {
        "group": group,
        "graph": graph,
        "edge_rows": rows,
        "manual_rows": [row for row in rows if row[1].manual_edge],
        # Owners hide any edge on their group: those that touch the root node.
        "hideable": {e.id for e in graph.edges if graph.root in (e.source, e.target)} if can_edit else set(),
        "hidden_edges": selectors.lineage_hidden_edges(user=request.user, group=group, scope=scope) if can_edit else [],
        "depth": depth,
        "can_edit": can_edit,
        "form": form or (LineageEdgeForm(initial={"direction": services.UPSTREAM, "kind": "s3"}) if can_edit else None),
    }


def _render_edges(
    request: HttpRequest, group, *, form=None, changed: bool = False, status: int = 200, scope=None
) -> HttpResponse:
    response = render(
        request, "catalog/lineage_edges.html", _lineage_context(request, group, form=form, scope=scope), status=status
    )
    if changed:
        # The panel's script redraws the graph when it hears this.
        response["HX-Trigger"] = "lineage-changed"
    return response


@login_required
def group_lineage(request: HttpRequest, group_uuid) -> HttpResponse:
    scope = visibility_scope(request.user)  # read once: the gate, the graph's node gate, hidden edges
    group = get_feature_group_for_user(request.user, group_uuid, scope=scope)
    if request.headers.get("HX-Request") or request.GET.get("fragment"):
        return _render_edges(request, group, scope=scope)
    return render(request, "catalog/lineage_group.html", _lineage_context(request, group, scope=scope))


@login_required
@require_POST
def group_lineage_edge_add(request: HttpRequest, group_uuid) -> HttpResponse:
    scope = visibility_scope(request.user)  # read once: the gate and the panel drawn after the change
    group = get_feature_group_for_user(request.user, group_uuid, scope=scope)
    if not can_edit_group(request.user, group):
        raise PermissionDenied
    form = LineageEdgeForm(request.POST)
    if form.is_valid():
        try:
            services.lineage_edge_add_manual(user=request.user, group=group, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
    htmx = bool(request.headers.get("HX-Request"))
    if form.is_valid():
        if htmx:
            return _render_edges(request, group, changed=True, scope=scope)
        messages.success(request, "Edge added.")
        return redirect("catalog:group_lineage", group_uuid=group.uuid)
    if htmx:
        # htmx swaps only 2xx answers by default; the errors are in the fragment.
        return _render_edges(request, group, form=form, scope=scope)
    return render(
        request, "catalog/lineage_group.html", _lineage_context(request, group, form=form, scope=scope), status=400
    )


@login_required
@require_POST
def group_lineage_edge_remove(request: HttpRequest, group_uuid, edge_uuid) -> HttpResponse:
    scope = visibility_scope(request.user)  # read once: the gate and the panel drawn after the change
    group = get_feature_group_for_user(request.user, group_uuid, scope=scope)
    if not can_edit_group(request.user, group):
        raise PermissionDenied
    try:
        services.lineage_edge_remove_manual(user=request.user, group=group, edge_uuid=edge_uuid)
    except LineageEdge.DoesNotExist:
        raise Http404("No such manual edge on this feature group.") from None
    if request.headers.get("HX-Request"):
        return _render_edges(request, group, changed=True, scope=scope)
    messages.success(request, "Edge removed.")
    return redirect("catalog:group_lineage", group_uuid=group.uuid)


def _edge_visibility_change(request: HttpRequest, group_uuid, edge_uuid, *, hide: bool) -> HttpResponse:
    scope = visibility_scope(request.user)  # read once: the gate and the panel drawn after the change
    group = get_feature_group_for_user(request.user, group_uuid, scope=scope)
    if not can_edit_group(request.user, group):
        raise PermissionDenied
    action = services.lineage_edge_hide if hide else services.lineage_edge_unhide
    try:
        action(user=request.user, group=group, edge_uuid=edge_uuid)
    except LineageEdge.DoesNotExist:
        raise Http404("No such edge on this feature group.") from None
    if request.headers.get("HX-Request"):
        return _render_edges(request, group, changed=True, scope=scope)
    messages.success(
        request, "Edge hidden for everyone. It is listed under Hidden edges." if hide else "Edge shown again."
    )
    return redirect("catalog:group_lineage", group_uuid=group.uuid)


@login_required
@require_POST
def group_lineage_edge_hide(request: HttpRequest, group_uuid, edge_uuid) -> HttpResponse:
    return _edge_visibility_change(request, group_uuid, edge_uuid, hide=True)


@login_required
@require_POST
def group_lineage_edge_unhide(request: HttpRequest, group_uuid, edge_uuid) -> HttpResponse:
    return _edge_visibility_change(request, group_uuid, edge_uuid, hide=False)


@login_required
def openlineage_event_list(request: HttpRequest) -> HttpResponse:
    events = selectors.openlineage_events_visible_to(user=request.user)
    if request.GET.get("unmatched"):
        events = events.exclude(unmatched=[])
    page = Paginator(events, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/lineage_events.html",
        {"page": page, "unmatched_only": bool(request.GET.get("unmatched"))},
    )


urlpatterns = [
    path("groups/<uuid:group_uuid>/lineage/", group_lineage, name="group_lineage"),
    path("groups/<uuid:group_uuid>/lineage/edges/", group_lineage_edge_add, name="group_lineage_edge_add"),
    path(
        "groups/<uuid:group_uuid>/lineage/edges/<uuid:edge_uuid>/remove/",
        group_lineage_edge_remove,
        name="group_lineage_edge_remove",
    ),
    path(
        "groups/<uuid:group_uuid>/lineage/edges/<uuid:edge_uuid>/hide/",
        group_lineage_edge_hide,
        name="group_lineage_edge_hide",
    ),
    path(
        "groups/<uuid:group_uuid>/lineage/edges/<uuid:edge_uuid>/unhide/",
        group_lineage_edge_unhide,
        name="group_lineage_edge_unhide",
    ),
    path("lineage/events/", openlineage_event_list, name="lineage_events"),
]

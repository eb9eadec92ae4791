"""Lineage reads: the graph around a feature group, and OpenLineage events a user may see.

Visibility: a feature-group node whose group the user cannot see (through
`FeatureGroup.objects.visible_to`) is *hidden*, not shown as a placeholder, and
the walk does not continue through it, so whatever lies only beyond it stays
hidden too. A placeholder would still tell the user that some group exists
there; hiding tells them nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Q, QuerySet

from catalog.models import AwsAccount, FeatureGroup, LineageEdge, LineageNode, OpenLineageEvent, user_sees_everything
from catalog.scope import visibility_scope
from catalog.selectors.accounts import account_pks_seen

MAX_DEPTH = 5
MAX_NODES = 300
DEFAULT_DEPTH = 2
# What drawing a node reads (`_graph_node`, `NodeGate.allowed`): not the group's search vectors
# and feature words, nor the accounts' other columns, which the walk would fetch on every hop.
GRAPH_NODE_FIELDS = (
    "id",
    "uuid",
    "key",
    "kind",
    "name",
    "account_id",
    "feature_group_id",
    "properties",
    "account__account_id",
    "feature_group__uuid",
    "feature_group__name",
    "feature_group__region",  # with the group's account: what the scope judges visibility by
    "feature_group__account__account_id",
)
# AWS documents AssociatedWith as a link without a direction ("the source is
# connected to the destination"): a pipeline associated with the job that
# produces a group belongs on the group's upstream side. Such neighbours are
# shown but not walked through, or every sibling job of the pipeline would
# appear upstream of this group.
UNDIRECTED_RELATIONS = ("AssociatedWith",)
_HIDDEN_PROPERTIES = ("sagemaker_entities",)


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str
    kind_label: str
    name: str
    key: str
    url: str
    feature_group: str | None
    account_id: str
    side: str  # "root", "upstream" or "downstream"
    hops: int
    properties: dict = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.side == "root"


@dataclass(frozen=True)
class GraphEdge:
    id: str
    source: str
    target: str
    origins: list[str]
    relations: list[str]
    manual_edge: str | None  # uuid of the manual edge, which owners may remove
    edge_ids: list[str] = field(default_factory=list)  # every stored row drawn as this edge (owners hide by one)


@dataclass(frozen=True)
class LineageGraph:
    root: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    depth_up: int
    depth_down: int
    truncated: bool

    @property
    def nodes_by_id(self) -> dict[str, GraphNode]:
        return {n.id: n for n in self.nodes}


def clamp_depth(value: int | None, default: int = DEFAULT_DEPTH) -> int:
    if value is None:
        return default
    return max(0, min(MAX_DEPTH, int(value)))


class NodeGate:
    """Which lineage nodes a user may see; the scope is resolved once and reused for every check."""

    def __init__(self, user, scope=None) -> None:
        self.user = user
        self.sees_all = user_sees_everything(user)
        # The user's accounts and grants, read once (or passed in by a caller that resolved them).
        self.scope = scope if scope is not None else visibility_scope(user)
        # Accounts the user may see anything of (None: all). A node that
        # belongs to any other account (a job, pipeline or model its sync
        # found) is hidden like an invisible group, and its ARNs are left out
        # of shared nodes' properties.
        self.accounts_seen = account_pks_seen(scope=self.scope)

    @cached_property
    def account_ids_seen(self) -> frozenset[str] | None:
        """The 12-digit ids of `accounts_seen` (None: all); read only when a node's properties name accounts."""
        if self.accounts_seen is None:
            return None
        return frozenset(
            AwsAccount.objects.filter(pk__in=sorted(self.accounts_seen)).values_list("account_id", flat=True)
        )

    def allowed(self, nodes: Iterable[LineageNode]) -> tuple[list[LineageNode], set[int]]:
        """(the nodes the user may see, the pks of those they may not)."""
        nodes = list(nodes)
        # A node fetched with its group (the walk's select_related) is judged by the scope in hand;
        # only groups not loaded yet cost a query through the gate.
        visible: set[int] = set()
        unloaded: set[int] = set()
        for n in nodes:
            if not n.feature_group_id:
                continue
            if LineageNode.feature_group.is_cached(n):
                if self.scope.sees(n.feature_group):
                    visible.add(n.feature_group_id)
            else:
                unloaded.add(n.feature_group_id)
        if unloaded:
            visible |= set(
                FeatureGroup.objects.visible_to(self.user, scope=self.scope)
                .filter(pk__in=unloaded)
                .values_list("pk", flat=True)
            )
        allowed, hidden = [], set()
        for node in nodes:
            if node.feature_group_id:
                ok = node.feature_group_id in visible
            elif node.kind == LineageNode.Kind.FEATURE_GROUP:
                # A feature-group node without its group (it was deleted from
                # the catalog, or never synced) names an ARN nobody vouched for.
                ok = self.sees_all
            else:
                ok = node.account_id is None or self.accounts_seen is None or node.account_id in self.accounts_seen
            if ok:
                allowed.append(node)
            else:
                hidden.add(node.pk)
        return allowed, hidden


class _Walk:
    def __init__(self, *, user, root: LineageNode, scope=None) -> None:
        self.gate = NodeGate(user, scope)
        self.nodes: dict[int, LineageNode] = {root.pk: root}
        self.side: dict[int, tuple[str, int]] = {root.pk: ("root", 0)}
        self.hidden: set[int] = set()
        self.edges: dict[int, LineageEdge] = {}
        self.truncated = False

    def _allowed(self, nodes: Iterable[LineageNode]) -> list[LineageNode]:
        allowed, hidden = self.gate.allowed(nodes)
        self.hidden |= hidden
        return allowed

    def walk(self, *, direction: str, depth: int) -> None:
        frontier = {pk for pk, (side, _) in self.side.items() if side == "root"}
        for hop in range(1, depth + 1):
            if not frontier:
                return
            if direction == "upstream":
                query = Q(target_id__in=frontier) | Q(source_id__in=frontier, relation__in=UNDIRECTED_RELATIONS)
            else:
                query = Q(source_id__in=frontier) | Q(target_id__in=frontier, relation__in=UNDIRECTED_RELATIONS)
            found = list(
                # Edges an owner hid are gone from the graph for everyone.
                LineageEdge.objects.filter(query, hidden_at__isnull=True).only(
                    "id", "uuid", "source_id", "target_id", "origin", "relation"
                )
            )
            reached: dict[int, bool] = {}  # node id -> may be walked through
            for edge in found:
                if edge.source_id in frontier and edge.target_id in frontier:
                    continue
                ahead = edge.target_id if edge.source_id in frontier else edge.source_id
                through = edge.relation not in UNDIRECTED_RELATIONS
                reached[ahead] = reached.get(ahead, False) or through
            new_ids = [pk for pk in reached if pk not in self.nodes and pk not in self.hidden]
            room = MAX_NODES - len(self.nodes)
            if len(new_ids) > room:
                self.truncated = True
                new_ids = sorted(new_ids)[: max(room, 0)]
            fetched = (
                LineageNode.objects.filter(pk__in=new_ids)
                .select_related("feature_group__account", "account")
                .only(*GRAPH_NODE_FIELDS)
            )
            for node in self._allowed(fetched):
                self.nodes[node.pk] = node
                self.side[node.pk] = (direction, hop)
            for edge in found:
                if edge.source_id in self.nodes and edge.target_id in self.nodes:
                    self.edges[edge.pk] = edge
            frontier = {pk for pk, through in reached.items() if through and self.side.get(pk) == (direction, hop)}


def _account_of_arn(arn: str) -> str:
    parts = str(arn).split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def _public_properties(properties: dict, account_ids_seen) -> dict:
    """What the user may read of a node's properties.

    A shared node (an S3 prefix several accounts' lineage names) remembers
    which accounts' syncs reported it and under which ARNs; only the accounts
    the user can see are shown.
    """
    shown = {k: v for k, v in (properties or {}).items() if k not in _HIDDEN_PROPERTIES}
    if "sagemaker_arns" not in shown and "sagemaker_scopes" not in shown:
        return shown
    if callable(account_ids_seen):  # read lazily: most nodes name no account
        account_ids_seen = account_ids_seen()
    if account_ids_seen is None:
        return shown
    if "sagemaker_arns" in shown:
        shown["sagemaker_arns"] = [a for a in shown["sagemaker_arns"] if _account_of_arn(a) in account_ids_seen]
    if "sagemaker_scopes" in shown:
        shown["sagemaker_scopes"] = [s for s in shown["sagemaker_scopes"] if str(s).split("/")[0] in account_ids_seen]
    return shown


def _graph_node(node: LineageNode, side: str, hops: int, account_ids_seen=None) -> GraphNode:
    """`account_ids_seen`: a frozenset, None (every account), or a callable returning one of those."""
    group = node.feature_group
    return GraphNode(
        id=str(node.uuid),
        kind=node.kind,
        kind_label=node.get_kind_display(),
        name=group.name if group else node.name,
        key=node.key,
        url=group.get_absolute_url() if group else "",
        feature_group=str(group.uuid) if group else None,
        account_id=(group.account.account_id if group else (node.account.account_id if node.account else "")),
        side=side,
        hops=hops,
        properties=_public_properties(node.properties, account_ids_seen),
    )


def _merged_edges(edges: Iterable[LineageEdge], ids: dict[int, str]) -> list[GraphEdge]:
    merged: dict[tuple[int, int], list[LineageEdge]] = {}
    for edge in edges:
        merged.setdefault((edge.source_id, edge.target_id), []).append(edge)
    out = []
    for (source, target), group in sorted(merged.items(), key=lambda item: (ids[item[0][0]], ids[item[0][1]])):
        manual = next((e for e in group if e.origin == LineageEdge.Origin.MANUAL), None)
        out.append(
            GraphEdge(
                id=f"{ids[source]}->{ids[target]}",
                source=ids[source],
                target=ids[target],
                origins=sorted({e.origin for e in group}),
                relations=sorted({e.relation for e in group if e.relation}),
                manual_edge=str(manual.uuid) if manual else None,
                edge_ids=sorted(str(e.uuid) for e in group),
            )
        )
    return out


def lineage_graph(
    *, user, group: FeatureGroup, depth_up: int = DEFAULT_DEPTH, depth_down: int = DEFAULT_DEPTH, scope=None
) -> LineageGraph:
    """Nodes and edges up to `depth_up` hops upstream and `depth_down` downstream of `group`.

    `group` must come from the visibility gate. One to three queries per hop,
    at most MAX_DEPTH hops each way and MAX_NODES nodes (`truncated` says the
    cap cut the graph). Edges between the same two nodes from several origins
    are one edge with every origin listed. `scope`: the user's `visibility_scope`, when the
    caller resolved it already for the gate.
    """
    depth_up, depth_down = clamp_depth(depth_up), clamp_depth(depth_down)
    root = (
        LineageNode.objects.filter(feature_group=group)
        .select_related("feature_group__account", "account")
        .only(*GRAPH_NODE_FIELDS)
        .first()
    )
    if root is None:
        # Nothing links to this group yet; the page still draws the group.
        node = GraphNode(
            id=str(group.uuid),
            kind=LineageNode.Kind.FEATURE_GROUP,
            kind_label=LineageNode.Kind.FEATURE_GROUP.label,
            name=group.name,
            key=group.arn,
            url=group.get_absolute_url(),
            feature_group=str(group.uuid),
            account_id=group.account.account_id,
            side="root",
            hops=0,
        )
        return LineageGraph(
            root=node.id, nodes=[node], edges=[], depth_up=depth_up, depth_down=depth_down, truncated=False
        )
    walk = _Walk(user=user, root=root, scope=scope)
    walk.walk(direction="upstream", depth=depth_up)
    walk.walk(direction="downstream", depth=depth_down)
    ids = {pk: str(node.uuid) for pk, node in walk.nodes.items()}
    gate = walk.gate
    nodes = [_graph_node(node, *walk.side[pk], lambda: gate.account_ids_seen) for pk, node in walk.nodes.items()]
    nodes.sort(key=lambda n: ({"upstream": 0, "root": 1, "downstream": 2}[n.side], n.hops, n.kind, n.name))
    return LineageGraph(
        root=ids[root.pk],
        nodes=nodes,
        edges=_merged_edges(walk.edges.values(), ids),
        depth_up=depth_up,
        depth_down=depth_down,
        truncated=walk.truncated,
    )


def openlineage_events_visible_to(*, user) -> QuerySet[OpenLineageEvent]:
    """Operators and governance see every event; others the events their own tokens posted."""
    events = OpenLineageEvent.objects.select_related("submitted_by")
    if user_sees_everything(user):
        return events
    return events.filter(submitted_by=user)


@dataclass(frozen=True)
class HiddenEdge:
    id: str
    source: str
    source_kind: str
    target: str
    target_kind: str
    origins: list[str]
    hidden_by: str
    hidden_at: object


def lineage_hidden_edges(*, user, group: FeatureGroup, scope=None) -> list[HiddenEdge]:
    """Edges on `group` that an owner hid, one per pair of nodes, for its owners to review and unhide.

    An edge whose other end the user could not see in the graph is left out,
    like the graph leaves it out.
    """
    rows = (
        LineageEdge.objects.filter(hidden_at__isnull=False)
        .filter(Q(source__feature_group=group) | Q(target__feature_group=group))
        .select_related("source__feature_group", "target__feature_group", "hidden_by")
        .order_by("-hidden_at", "id")
    )
    rows = list(rows)
    ends = {n.pk: n for e in rows for n in (e.source, e.target)}
    allowed = {n.pk for n in NodeGate(user, scope).allowed(ends.values())[0]} if ends else set()
    pairs: dict[tuple[int, int], list[LineageEdge]] = {}
    for edge in rows:
        if edge.source_id in allowed and edge.target_id in allowed:
            pairs.setdefault((edge.source_id, edge.target_id), []).append(edge)
    out = []
    for edges in pairs.values():
        first = edges[0]
        out.append(
            HiddenEdge(
                id=str(first.uuid),
                source=_label(first.source),
                source_kind=first.source.get_kind_display(),
                target=_label(first.target),
                target_kind=first.target.get_kind_display(),
                origins=sorted({e.origin for e in edges}),
                hidden_by=first.hidden_by.username if first.hidden_by else "",
                hidden_at=first.hidden_at,
            )
        )
    return out


def _label(node: LineageNode) -> str:
    return node.feature_group.name if node.feature_group_id else node.name

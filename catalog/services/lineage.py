"""Lineage writes: owners' manual edges, OpenLineage run events, and the SageMaker lineage sync.

Every edge records its origin. Nodes are shared by all origins and found by
their natural key (an ARN, an s3:// URI, glue://database/table, or an
OpenLineage "namespace::name"), so an S3 prefix named by a SageMaker artifact,
an Airflow task and an owner's form is one node with three kinds of edges.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog import openlineage as ol
from catalog.gateways.lineage import (
    LineageAssociation,
    LineageEntity,
    LineageGateway,
    LineageVertex,
    lineage_type_of_arn,
)
from catalog.models import AwsAccount, FeatureGroup, LineageEdge, LineageNode, OpenLineageEvent
from catalog.permissions import can_edit_group, can_record_producing, is_account_member
from portal.aws import SessionLike

logger = logging.getLogger(__name__)

Kind = LineageNode.Kind
Origin = LineageEdge.Origin


# ---------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------


@dataclass
class NodeSpec:
    key: str
    kind: str
    name: str
    account: AwsAccount | None = None
    feature_group: FeatureGroup | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def lineage_node_for_group(*, group: FeatureGroup) -> LineageNode:
    """The node of a feature group (key: its ARN), created on first use."""
    node = LineageNode.objects.filter(Q(feature_group=group) | Q(key=group.arn)).first()
    if node is None:
        node, _ = LineageNode.objects.get_or_create(
            key=group.arn,
            defaults={
                "kind": Kind.FEATURE_GROUP,
                "name": group.name,
                "account_id": group.account_id,
                "feature_group": group,
            },
        )
    if node.feature_group_id != group.pk or node.kind != Kind.FEATURE_GROUP:
        node.feature_group = group
        node.kind = Kind.FEATURE_GROUP
        node.name = group.name
        node.save(update_fields=["feature_group", "kind", "name", "updated_at"])
    return node


def _nodes_get_or_create(specs: Iterable[NodeSpec]) -> dict[str, LineageNode]:
    """Nodes by key: existing ones are kept as they are, missing ones inserted in bulk."""
    by_key = {spec.key: spec for spec in specs}
    if not by_key:
        return {}
    LineageNode.objects.bulk_create(
        [
            LineageNode(
                key=s.key,
                kind=s.kind,
                name=s.name[:512],
                account=s.account,
                feature_group=s.feature_group,
                properties=s.properties,
            )
            for s in by_key.values()
        ],
        ignore_conflicts=True,
    )
    return {n.key: n for n in LineageNode.objects.filter(key__in=list(by_key))}


def _edges_upsert(
    pairs: Iterable[tuple[LineageNode, LineageNode, str]],
    *,
    origin: str,
    now,
    created_by=None,
    event: OpenLineageEvent | None = None,
) -> tuple[list[LineageEdge], int]:
    """Insert or refresh (last_seen_at) edges; returns the edges and how many were new."""
    unique: dict[tuple[int, int], tuple[LineageNode, LineageNode, str]] = {}
    for source, target, relation in pairs:
        if source.pk != target.pk:
            unique[(source.pk, target.pk)] = (source, target, relation)
    if not unique:
        return [], 0
    existing = set(
        LineageEdge.objects.filter(origin=origin, source_id__in={s for s, _ in unique})
        .filter(target_id__in={t for _, t in unique})
        .values_list("source_id", "target_id")
    )
    update_fields = ["last_seen_at", "relation"]
    if event is not None:
        update_fields.append("openlineage_event")
    edges = LineageEdge.objects.bulk_create(
        [
            LineageEdge(
                source=source,
                target=target,
                origin=origin,
                relation=relation[:64],
                created_by=created_by,
                openlineage_event=event,
                last_seen_at=now,
            )
            for source, target, relation in unique.values()
        ],
        update_conflicts=True,
        unique_fields=["source", "target", "origin"],
        update_fields=update_fields,
    )
    created = sum(1 for pair in unique if pair not in existing)
    return edges, created


# ---------------------------------------------------------------------------
# Manual edges
# ---------------------------------------------------------------------------

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"


def _manual_node_spec(*, user, group: FeatureGroup, kind: str, identifier: str, name: str) -> NodeSpec | LineageNode:
    identifier = identifier.strip()
    name = name.strip()
    if not identifier:
        raise ValidationError({"identifier": "Enter what the edge connects to."})
    if kind == Kind.FEATURE_GROUP:
        visible = FeatureGroup.objects.visible_to(user).live()
        matches = list(visible.filter(Q(arn__iexact=identifier) | Q(name=identifier))[:2])
        if not matches:
            raise ValidationError({"identifier": "No feature group you can see has this ARN or name."})
        if len(matches) > 1:
            raise ValidationError({"identifier": "Several feature groups have this name; enter the ARN."})
        if matches[0].pk == group.pk:
            raise ValidationError({"identifier": "A feature group cannot feed itself."})
        return lineage_node_for_group(group=matches[0])
    if kind not in Kind.values:
        raise ValidationError({"kind": "Choose a kind from the list."})
    if ol.FEATURE_GROUP_ARN_RE.search(identifier):
        raise ValidationError({"identifier": "This is a feature group ARN; choose the kind “Feature group”."})
    if kind == Kind.S3:
        uri = ol.normalise_s3_uri(identifier)
        if not uri.startswith("s3://") or len(uri) <= len("s3://"):
            raise ValidationError({"identifier": "Enter an S3 URI like s3://bucket/prefix."})
        return NodeSpec(key=uri, kind=kind, name=name or uri)
    if kind == Kind.GLUE_TABLE:
        glue = ol.glue_table_in(ol.DatasetRef("glue://", identifier.removeprefix("glue://"))) or ol.glue_table_in(
            ol.DatasetRef("", identifier)
        )
        if glue is None:
            raise ValidationError({"identifier": "Enter a Glue table as database.table or a Glue table ARN."})
        return NodeSpec(key=glue.key, kind=kind, name=name or f"{glue.database}.{glue.table}")
    if len(identifier) > 1000:
        raise ValidationError({"identifier": "Keep it under 1000 characters."})
    if identifier.startswith("arn:"):
        return NodeSpec(key=identifier, kind=kind, name=name or identifier.rsplit("/", 1)[-1])
    # A thing known only by name (a model, a notebook job): namespaced so it
    # cannot collide with an ARN, URI or OpenLineage key, and per account, so
    # two accounts' "nightly-etl" are two nodes and neither can draw edges
    # into the other's.
    return NodeSpec(key=f"pantry::{group.account.account_id}/{kind}/{identifier}", kind=kind, name=name or identifier)


def lineage_edge_add_manual(
    *, user, group: FeatureGroup, direction: str, kind: str, identifier: str, name: str = ""
) -> LineageEdge:
    """Add an owner's edge from (upstream) or to (downstream) a node. Adding it twice changes nothing."""
    if not can_edit_group(user, group):
        raise PermissionDenied
    if direction not in (UPSTREAM, DOWNSTREAM):
        raise ValidationError({"direction": "Choose upstream or downstream."})
    resolved = _manual_node_spec(user=user, group=group, kind=kind, identifier=identifier, name=name)
    with transaction.atomic():
        group_node = lineage_node_for_group(group=group)
        if isinstance(resolved, LineageNode):
            other = resolved
        else:
            other = _nodes_get_or_create([resolved])[resolved.key]
            if other.feature_group_id and not FeatureGroup.objects.visible_to(user).filter(pk=other.feature_group_id):
                # Same answer as for a name nobody has: reveal nothing.
                raise ValidationError({"identifier": "No feature group you can see has this ARN or name."})
        if other.pk == group_node.pk:
            raise ValidationError({"identifier": "A feature group cannot feed itself."})
        if direction == DOWNSTREAM:
            _require_may_record_into(user=user, node=other)
        source, target = (other, group_node) if direction == UPSTREAM else (group_node, other)
        edge, created = LineageEdge.objects.get_or_create(
            source=source,
            target=target,
            origin=Origin.MANUAL,
            defaults={"relation": "manual", "created_by": user},
        )
        if not created:
            edge.last_seen_at = timezone.now()
            edge.save(update_fields=["last_seen_at"])
    return edge


PRODUCING_REFUSED = "Only people of the account that owns this feature group may record producing it."


def _arn_account(key: str) -> str:
    parts = key.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4].isdigit() else ""


def _require_may_record_into(*, user, node: LineageNode) -> None:
    """An edge into a node is a claim about that node: only its own account's people may make it.

    Feature groups belong to their account; SageMaker entities (ARNs) to the
    account in their ARN. Data locations (S3, Glue, datasets) belong to nobody.
    """
    if node.feature_group_id is not None:
        if not can_record_producing(user, node.feature_group):
            raise ValidationError(
                {
                    "identifier": f"Only people of the account that owns {node.feature_group.name} may record what feeds it."
                }
            )
        return
    account_id = (node.account.account_id if node.account_id else "") or _arn_account(node.key)
    if account_id and not is_account_member(user, account_id=account_id):
        raise ValidationError({"identifier": "Only people of the account that owns it may record what feeds it."})


def lineage_edge_remove_manual(*, user, group: FeatureGroup, edge_uuid) -> None:
    """Remove an owner's edge of this group. Only manual edges can be removed; synced ones come back."""
    if not can_edit_group(user, group):
        raise PermissionDenied
    with transaction.atomic():
        edge = (
            LineageEdge.objects.select_for_update()
            .filter(uuid=edge_uuid, origin=Origin.MANUAL)
            .filter(Q(source__feature_group=group) | Q(target__feature_group=group))
            .first()
        )
        if edge is None:
            raise LineageEdge.DoesNotExist
        edge.delete()


def _edges_between_of_group(*, group: FeatureGroup, edge_uuid) -> QuerySet[LineageEdge]:
    """Every edge between the two nodes of edge `edge_uuid` (the drawn edge), if it touches `group`."""
    edge = (
        LineageEdge.objects.filter(uuid=edge_uuid)
        .filter(Q(source__feature_group=group) | Q(target__feature_group=group))
        .only("source_id", "target_id")
        .first()
    )
    if edge is None:
        raise LineageEdge.DoesNotExist
    return LineageEdge.objects.filter(source_id=edge.source_id, target_id=edge.target_id)


def lineage_edge_hide(*, user, group: FeatureGroup, edge_uuid) -> int:
    """Hide an edge on one of the owner's groups, for everyone; it stays stored with who hid it and when.

    Acts on the drawn edge: every origin's row between the same two nodes.
    A sync or a repeated OpenLineage event refreshes the row but keeps it hidden.
    """
    if not can_edit_group(user, group):
        raise PermissionDenied
    with transaction.atomic():
        edges = _edges_between_of_group(group=group, edge_uuid=edge_uuid).select_for_update()
        return edges.filter(hidden_at__isnull=True).update(hidden_at=timezone.now(), hidden_by=user)


def lineage_edge_unhide(*, user, group: FeatureGroup, edge_uuid) -> int:
    """Show a hidden edge of the owner's group again."""
    if not can_edit_group(user, group):
        raise PermissionDenied
    with transaction.atomic():
        edges = _edges_between_of_group(group=group, edge_uuid=edge_uuid).select_for_update()
        return edges.filter(hidden_at__isnull=False).update(hidden_at=None, hidden_by=None)


# ---------------------------------------------------------------------------
# OpenLineage
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetMatch:
    ref: ol.DatasetRef
    role: str  # "input", "output" or "dataset" (the subject of a DatasetEvent)
    group: FeatureGroup | None
    matched_by: str  # "arn", "glue", "s3" or ""
    node_spec: NodeSpec
    facets: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OpenLineageIngestResult:
    event: OpenLineageEvent
    created: bool
    edges_created: int


def _s3_group(uri: str, visible) -> FeatureGroup | None:
    bucket = uri[len("s3://") :].split("/", 1)[0]
    best: tuple[int, FeatureGroup] | None = None
    for group in visible.filter(offline_s3_uri__startswith=f"s3://{bucket}").only(
        "id", "arn", "name", "offline_s3_uri", "account_id"
    ):
        fg_uri = ol.normalise_s3_uri(group.offline_s3_uri)
        # The offline store's resolved URI ends in /data; a job may name the
        # group's folder without it.
        hit = uri == fg_uri or uri.startswith(fg_uri + "/") or (fg_uri.endswith("/data") and uri == fg_uri[:-5])
        if hit and (best is None or len(fg_uri) > best[0]):
            best = (len(fg_uri), group)
    return best[1] if best else None


def _glue_group(glue: ol.GlueRef, visible) -> FeatureGroup | None:
    candidates = visible.filter(glue_database__iexact=glue.database, glue_table__iexact=glue.table)
    if glue.account:
        candidates = candidates.filter(account__account_id=glue.account)
    if glue.region:
        candidates = candidates.filter(region=glue.region)
    found = list(candidates[:2])
    # Two accounts with the same database.table and no account in the name:
    # guessing would draw a wrong edge, so it stays unmatched.
    return found[0] if len(found) == 1 else None


def _unmatched_spec(ref: ol.DatasetRef) -> NodeSpec:
    props = {"openlineage": {"namespace": ref.namespace, "name": ref.name}}
    uri = ol.s3_uri_in(ref)
    if uri:
        return NodeSpec(key=uri, kind=Kind.S3, name=uri, properties=props)
    glue = ol.glue_table_in(ref)
    if glue:
        return NodeSpec(key=glue.key, kind=Kind.GLUE_TABLE, name=f"{glue.database}.{glue.table}", properties=props)
    return NodeSpec(key=ref.key[:2048], kind=Kind.DATASET, name=ref.name, properties=props)


def openlineage_dataset_match(*, dataset: dict, role: str, visible) -> DatasetMatch:
    """Match one dataset to a feature group by ARN, then Glue table, then S3 URI."""
    refs = ol.dataset_refs(dataset)
    facets = dataset.get("facets") or {}

    def hit(group: FeatureGroup, how: str) -> DatasetMatch:
        return DatasetMatch(refs[0], role, group, how, NodeSpec(group.arn, Kind.FEATURE_GROUP, group.name), facets)

    for ref in refs:
        arn = ol.feature_group_arn_in(ref)
        if arn:
            group = visible.filter(arn__iexact=arn).first()
            if group:
                return hit(group, "arn")
    for ref in refs:
        glue = ol.glue_table_in(ref)
        group = _glue_group(glue, visible) if glue else None
        if group:
            return hit(group, "glue")
    for ref in refs:
        uri = ol.s3_uri_in(ref)
        group = _s3_group(uri, visible) if uri else None
        if group:
            return hit(group, "s3")
    return DatasetMatch(refs[0], role, None, "", _unmatched_spec(refs[0]), facets)


def _lock_id(identity: str) -> int:
    # pg advisory locks take a signed 64-bit key.
    return int.from_bytes(bytes.fromhex(identity[:16]), "big", signed=True)


def _job_node_spec(*, namespace: str, name: str, user, facets: dict | None = None) -> NodeSpec:
    """A job as one reporter (API token user) sees it.

    OpenLineage names jobs by namespace and name only, and two teams may well
    both have an `airflow` / `ingest` job. One node per reporter means nobody
    can add inputs to someone else's job, and so draw their data upstream of
    a group they do not own (docs/lineage.md).
    """
    reporter = hashlib.blake2b(f"pantry-user:{user.pk}".encode(), digest_size=6).hexdigest()
    props: dict[str, Any] = {"openlineage": {"namespace": namespace, "name": name}}
    if facets:
        props["openlineage_facets"] = facets
    return NodeSpec(
        key=f"openlineage-job:{reporter}:{namespace}::{name}"[:2048], kind=Kind.JOB, name=name, properties=props
    )


def _merged_facets(current: dict, update: dict) -> dict:
    """OpenLineage facet semantics: a facet replaces the one of the same name; `_deleted: true` removes it."""
    merged = dict(current or {})
    for name, facet in (update or {}).items():
        if isinstance(facet, dict) and facet.get("_deleted") is True:
            merged.pop(name, None)
        else:
            merged[name] = facet
    return merged


def _facets_apply(node: LineageNode, facets: dict) -> None:
    if not facets:
        return
    props = dict(node.properties or {})
    props["openlineage_facets"] = _merged_facets(props.get("openlineage_facets") or {}, facets)
    node.properties = props
    node.save(update_fields=["properties", "updated_at"])


def openlineage_event_ingest(*, payload: dict, validated: dict, user, kind: str = "run") -> OpenLineageIngestResult:
    """Store a validated RunEvent, JobEvent or DatasetEvent and apply what the submitter may record.

    Run and job events draw input dataset → job → output dataset; a dataset
    event merges its facets into the dataset's node. Datasets are matched
    only against the feature groups the submitter can see, so an event
    cannot probe for hidden groups. Reading a visible group is always
    recorded; producing one (an output, or a dataset event about it) only
    for people of its owning account: otherwise that part is listed in
    `rejected` with the reason and nothing of it is written, and the rest
    of the event still is. Posting the same event again (same submitter,
    kind, run, type, time and job or dataset) returns the stored event and
    writes nothing.
    """
    visible = FeatureGroup.objects.visible_to(user).live()
    if kind == "dataset":
        matches = [openlineage_dataset_match(dataset=validated["dataset"], role="dataset", visible=visible)]
    else:
        matches = [
            openlineage_dataset_match(dataset=d, role="input", visible=visible) for d in validated.get("inputs", [])
        ]
        matches += [
            openlineage_dataset_match(dataset=d, role="output", visible=visible) for d in validated.get("outputs", [])
        ]
    allowed: list[DatasetMatch] = []
    rejected: list[dict] = []
    for m in matches:
        if m.group is not None and m.role != "input" and not can_record_producing(user, m.group):
            rejected.append(
                {"dataset": m.ref.key, "role": m.role, "feature_group": m.group.arn, "reason": PRODUCING_REFUSED}
            )
        else:
            allowed.append(m)
    identity = ol.event_identity(kind=kind, submitter_id=user.pk, validated=validated)
    job = validated.get("job") or {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Serialises concurrent posts of the same event (a retrying client),
            # which the lookup below then finds.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(identity)])
        existing = OpenLineageEvent.objects.filter(identity=identity).first()
        if existing is not None:
            return OpenLineageIngestResult(event=existing, created=False, edges_created=0)
        event = OpenLineageEvent.objects.create(
            kind=kind,
            identity=identity,
            event_type=validated.get("eventType", ""),
            event_time=validated["eventTime"],
            run_id=str(validated["run"]["runId"]) if kind == "run" else "",
            job_namespace=job.get("namespace", ""),
            job_name=job.get("name", ""),
            producer=validated["producer"],
            payload=payload,
            matched=[
                {"dataset": m.ref.key, "role": m.role, "feature_group": m.group.arn, "matched_by": m.matched_by}
                for m in allowed
                if m.group
            ],
            unmatched=[{"dataset": m.ref.key, "role": m.role} for m in allowed if not m.group],
            rejected=rejected,
            submitted_by=user,
        )
        group_nodes = {m.group.pk: lineage_node_for_group(group=m.group) for m in allowed if m.group}
        unmatched_specs = [m.node_spec for m in allowed if not m.group]
        job_spec = None
        if kind != "dataset":
            job_spec = _job_node_spec(namespace=job["namespace"], name=job["name"], user=user)
        nodes = _nodes_get_or_create([*([job_spec] if job_spec else []), *unmatched_specs])

        def node_of(m: DatasetMatch) -> LineageNode:
            return group_nodes[m.group.pk] if m.group else nodes[m.node_spec.key]

        if kind == "dataset":
            for m in allowed:
                _facets_apply(node_of(m), m.facets)
            return OpenLineageIngestResult(event=event, created=True, edges_created=0)
        job_node = nodes[job_spec.key]
        _facets_apply(job_node, job.get("facets") or {})
        pairs = [(node_of(m), job_node, "input") for m in allowed if m.role == "input"]
        pairs += [(job_node, node_of(m), "output") for m in allowed if m.role == "output"]
        _, created = _edges_upsert(pairs, origin=Origin.OPENLINEAGE, now=timezone.now(), created_by=user, event=event)
    return OpenLineageIngestResult(event=event, created=True, edges_created=created)


# ---------------------------------------------------------------------------
# SageMaker lineage sync
# ---------------------------------------------------------------------------

# Hops QueryLineage walks from each feature group's context; the graph page
# shows at most 5 hops each way, so deeper entities would never be drawn.
SYNC_DEPTH = 5

_CONTEXT_KINDS = {
    "featuregroup": Kind.FEATURE_GROUP,
    "sagemakerpipeline": Kind.PIPELINE,
    "pipeline": Kind.PIPELINE,
    "pipelineexecution": Kind.PIPELINE,
    "sagemakerpipelineexecution": Kind.PIPELINE,
    "endpoint": Kind.ENDPOINT,
    "model": Kind.MODEL,
    "modelgroup": Kind.MODEL,
    "modelpackagegroup": Kind.MODEL,
    "modeldeployment": Kind.ENDPOINT,
}
_ACTION_KINDS = {
    "processingjob": Kind.PROCESSING_JOB,
    "trainingjob": Kind.TRAINING_JOB,
    "modeldeployment": Kind.ENDPOINT,
}
_ARTIFACT_KINDS = {"model": Kind.MODEL, "modelpackage": Kind.MODEL, "dataset": Kind.DATASET}


def _arn_tail(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _merge_props(old: dict, new: dict) -> dict:
    merged = {**old, **new}
    for listed in ("sagemaker_arns", "sagemaker_scopes"):
        merged[listed] = sorted(set(old.get(listed, [])) | set(new.get(listed, [])))
    merged["sagemaker_entities"] = {**old.get("sagemaker_entities", {}), **new.get("sagemaker_entities", {})}
    if not merged["sagemaker_entities"]:
        del merged["sagemaker_entities"]
    return merged


class _LineageSync:
    def __init__(
        self, *, account: AwsAccount, region: str, gateway: LineageGateway, progress: Callable[[], None]
    ) -> None:
        self.account = account
        self.region = region
        self.gateway = gateway
        self.progress = progress
        self.scope = f"{account.account_id}/{region}"
        self.groups_by_arn = {
            g.arn.lower(): g
            for g in FeatureGroup.objects.filter(account=account, region=region, deleted_at__isnull=True)
        }

    # -- reading AWS (no writes until everything is read) -------------------

    def read(self) -> tuple[dict[str, LineageVertex], dict[tuple[str, str], LineageAssociation], dict]:
        contexts = {c.arn: c for c in self.gateway.feature_group_contexts()}
        self.fg_contexts = contexts
        starts = [c.arn for c in contexts.values() if c.source_uri.lower() in self.groups_by_arn]
        vertices: dict[str, LineageVertex] = {}
        edges: dict[tuple[str, str], LineageAssociation] = {}
        # QueryLineage takes one start ARN, so this is a call per group: run a
        # few at once (boto3 clients are thread-safe); adaptive retry mode
        # slows them down together if AWS throttles. Results merge in order.
        with ThreadPoolExecutor(max_workers=settings.PANTRY_LINEAGE_CONCURRENCY) as pool:
            results = pool.map(
                lambda start: self.gateway.query_lineage(start_arn=start, direction="Both", max_depth=SYNC_DEPTH),
                starts,
            )
            for start, result in zip(starts, results, strict=True):
                self.progress()
                vertices.update({v.arn: v for v in result.vertices})
                edges.update({(e.source_arn, e.destination_arn): e for e in result.edges})
                vertices.setdefault(start, LineageVertex(start, "FeatureGroup", "Context"))
        # Pipelines are *associated with* the jobs that produce a group rather
        # than upstream of it, so QueryLineage from the group never reaches
        # them: ask each producing job for its AssociatedWith links.
        producers = sorted(
            {
                e.source_arn
                for e in edges.values()
                if e.destination_arn in starts and lineage_type_of_arn(e.source_arn) in ("Action", "TrialComponent")
            }
        )
        for job in producers:
            self.progress()
            for assoc in self.gateway.list_associations(source_arn=job, association_type="AssociatedWith"):
                edges[(assoc.source_arn, assoc.destination_arn)] = assoc
                vertices.setdefault(
                    assoc.destination_arn,
                    LineageVertex(
                        assoc.destination_arn, assoc.destination_type, lineage_type_of_arn(assoc.destination_arn)
                    ),
                )
        details = self._details(vertices)
        return vertices, edges, details

    def _details(self, vertices: dict[str, LineageVertex]) -> dict[str, LineageEntity]:
        """Name and source URI of every vertex that needs them, described once and then remembered."""
        details: dict[str, LineageEntity] = dict(self.fg_contexts)
        wanted = [
            v.arn
            for v in vertices.values()
            if v.arn not in details
            and (v.lineage_type == "Artifact" or (v.lineage_type == "Context" and v.type == "FeatureGroup"))
        ]
        if wanted:
            # Artifacts are immutable in what Pantry reads (name, type, URI), so
            # a node that already carries the ARN needs no DescribeArtifact.
            for node in LineageNode.objects.filter(properties__sagemaker_arns__has_any_keys=wanted):
                entity = node.properties.get("sagemaker_entities", {})
                for arn in wanted:
                    if arn in entity:
                        details[arn] = LineageEntity(**entity[arn])
        for arn in wanted:
            if arn in details:
                continue
            self.progress()
            if vertices[arn].lineage_type == "Artifact":
                details[arn] = self.gateway.describe_artifact(arn)
            else:
                details[arn] = self.gateway.describe_context(arn)
        return details

    # -- mapping -------------------------------------------------------------

    def spec(self, vertex: LineageVertex, details: dict[str, LineageEntity]) -> NodeSpec:
        entity = details.get(vertex.arn)
        vtype = (entity.type if entity else vertex.type) or ""
        uri = entity.source_uri if entity else ""
        props: dict[str, Any] = {
            "sagemaker_arns": [vertex.arn],
            "sagemaker_scopes": [self.scope],
            "sagemaker_type": vtype,
            "sagemaker_lineage_type": vertex.lineage_type,
        }
        if uri:
            props["source_uri"] = uri
        if entity and vertex.lineage_type == "Artifact":
            props["sagemaker_entities"] = {
                vertex.arn: {
                    "arn": entity.arn,
                    "lineage_type": entity.lineage_type,
                    "type": entity.type,
                    "name": entity.name,
                    "source_uri": entity.source_uri,
                }
            }
        name = (entity.name if entity else "") or _arn_tail(vertex.arn)
        lowered = vtype.lower()
        if vertex.lineage_type == "Context" and lowered == "featuregroup" and uri:
            group = self.groups_by_arn.get(uri.lower()) or FeatureGroup.objects.filter(arn__iexact=uri).first()
            return NodeSpec(
                key=group.arn if group else uri,
                kind=Kind.FEATURE_GROUP,
                name=group.name if group else _arn_tail(uri),
                account=group.account if group else None,
                feature_group=group,
                properties=props,
            )
        if vertex.lineage_type == "Context":
            kind = _CONTEXT_KINDS.get(lowered, Kind.OTHER)
        elif vertex.lineage_type == "Action":
            kind = _ACTION_KINDS.get(lowered, Kind.JOB)
        elif vertex.lineage_type == "Artifact":
            kind = _ARTIFACT_KINDS.get(lowered, Kind.OTHER)
            if kind != Kind.MODEL and uri.startswith(("s3://", "s3a://", "s3n://")):
                s3 = ol.normalise_s3_uri(uri)
                return NodeSpec(key=s3, kind=Kind.S3, name=s3, properties=props)
            glue = ol.GLUE_TABLE_ARN_RE.match(uri) if uri else None
            if kind != Kind.MODEL and glue:
                ref = ol.GlueRef(glue["database"].lower(), glue["table"].lower())
                return NodeSpec(key=ref.key, kind=Kind.GLUE_TABLE, name=f"{ref.database}.{ref.table}", properties=props)
        elif "training-job" in vertex.arn:
            kind = Kind.TRAINING_JOB
        elif "processing-job" in vertex.arn:
            kind = Kind.PROCESSING_JOB
        else:
            kind = Kind.JOB
        return NodeSpec(key=vertex.arn, kind=kind, name=name, account=self.account, properties=props)

    # -- writing ---------------------------------------------------------------

    def _claims_into_other_account(self, target: NodeSpec) -> bool:
        """An edge into a node of another account is that account's to record (docs/lineage.md).

        Any account can create a FeatureGroup context with any SourceUri, so
        its lineage naming another account's group proves nothing.
        """
        if target.feature_group is not None:
            return target.feature_group.account_id != self.account.pk
        if target.kind == Kind.FEATURE_GROUP or target.key.startswith("arn:"):
            owner = _arn_account(target.key)
            return bool(owner) and owner != self.account.account_id
        return False  # a data location: nobody's

    def write(self, vertices, edges, details) -> dict[str, int]:
        specs_by_arn = {arn: self.spec(v, details) for arn, v in vertices.items()}
        specs: dict[str, NodeSpec] = {}
        for spec in specs_by_arn.values():
            if spec.key in specs:
                specs[spec.key].properties = _merge_props(specs[spec.key].properties, spec.properties)
            else:
                specs[spec.key] = spec
        now = timezone.now()
        with transaction.atomic():
            current = {n.key: n for n in LineageNode.objects.filter(key__in=list(specs))}
            rows = []
            for key, spec in specs.items():
                old = current.get(key)
                props = _merge_props(old.properties if old else {}, spec.properties)
                group = spec.feature_group or (old.feature_group if old else None)
                rows.append(
                    LineageNode(
                        key=key,
                        kind=spec.kind,
                        name=spec.name[:512],
                        account=spec.account or (old.account if old else None),
                        feature_group=group,
                        properties=props,
                    )
                )
            LineageNode.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["key"],
                update_fields=["kind", "name", "account", "feature_group", "properties", "updated_at"],
            )
            nodes = {n.key: n for n in LineageNode.objects.filter(key__in=list(specs))}
            pairs = []
            refused = 0
            for (src, dst), assoc in edges.items():
                if src in specs_by_arn and dst in specs_by_arn:
                    if self._claims_into_other_account(specs_by_arn[dst]):
                        refused += 1
                        continue
                    pairs.append((nodes[specs_by_arn[src].key], nodes[specs_by_arn[dst].key], assoc.association_type))
            saved, created = _edges_upsert(pairs, origin=Origin.SAGEMAKER, now=now)
            # The read above finished without an error, so it is complete: a
            # SageMaker edge of this account and region it did not report is gone.
            stale = (
                LineageEdge.objects.filter(origin=Origin.SAGEMAKER)
                .filter(
                    Q(source__properties__sagemaker_scopes__contains=[self.scope])
                    | Q(target__properties__sagemaker_scopes__contains=[self.scope])
                )
                .exclude(pk__in=[e.pk for e in saved])
            )
            removed = stale.delete()[1].get(LineageEdge._meta.label, 0)
        return {
            "groups": len(self.groups_by_arn),
            "contexts": len([c for c in self.fg_contexts.values() if c.source_uri.lower() in self.groups_by_arn]),
            "nodes": len(specs),
            "edges": len(saved),
            "edges_created": created,
            "edges_removed": removed,
            "edges_refused": refused,
        }


def lineage_sync(
    *, account: AwsAccount, region: str, session: SessionLike, progress: Callable[[], None] | None = None
) -> dict[str, int]:
    """Mirror the SageMaker lineage around the account's feature groups in one region.

    Calls: ⌈FeatureGroup contexts/100⌉ ListContexts, one QueryLineage per group
    (more only past 50 vertices), one ListAssociations per job that produces a
    group, and one DescribeArtifact per artifact never seen before. Nothing is
    written until every read succeeded; an AWS error leaves the stored lineage
    as it was. Running it twice gives the same rows (edges get a fresh
    `last_seen_at`). `progress` is called (on this thread) after each call
    completes: the catalog sync's heartbeat.
    """
    gateway = LineageGateway(session)
    syncer = _LineageSync(account=account, region=region, gateway=gateway, progress=progress or (lambda: None))
    vertices, edges, details = syncer.read()
    counts = syncer.write(vertices, edges, details)
    logger.info("lineage sync %s/%s: %s", account.account_id, region, counts)
    return counts

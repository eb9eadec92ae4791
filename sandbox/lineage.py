"""SageMaker ML lineage (artifacts, contexts, actions, associations, QueryLineage).

moto 5.2.5 implements none of these, so they are added in moto's style: a backend mixin for
``SageMakerModelBackend`` and handlers patched onto ``SageMakerResponse``.

Feature groups take part in lineage the way AWS does it: creating a feature group creates a
Context of type ``FeatureGroup`` named ``<feature-group-name>-<epoch>-feature-group``
(underscores become hyphens) whose ``Source.SourceUri`` is the feature group ARN. Find it with
``ListContexts(SourceUri=<feature group arn>, ContextType="FeatureGroup")``.

Sandbox choices: associations must join entities of the caller's account and region (contexts,
artifacts, actions, or moto trial components); ``QueryLineage`` takes one start ARN,
``MaxDepth`` ≤ 10 and ``MaxResults`` ≤ 50 (default 10) as AWS does (``ValidationException``
beyond), pages vertices with ``NextToken`` (each edge arrives with the page of its later-listed
end), includes the start entity as a vertex, and ``Direction=Both`` is the union of the ascendant
and descendant traversals.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from collections import deque
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.utils import arn_formatter

from ._common import (
    ResourceNotFound,
    check_max_results,
    decode_token,
    descending,
    paginate,
    to_naive_utc,
    validation,
)

QUERY_LINEAGE_MAX_START_ARNS = 1
QUERY_LINEAGE_MAX_DEPTH = 10
QUERY_LINEAGE_MAX_RESULTS = 50
ASSOCIATION_TYPES = ("ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs")
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$")
_counter = itertools.count()


class LineageEntity(BaseModel):
    """One of Artifact / Context / Action (``lineage_type``)."""

    def __init__(
        self,
        lineage_type: str,
        account_id: str,
        region_name: str,
        name: str | None,
        entity_type: str | None,
        source: dict[str, Any] | None,
        description: str | None = None,
        properties: dict[str, str] | None = None,
        status: str | None = None,
        metadata_properties: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        self.lineage_type = lineage_type
        self.name = name
        self.entity_type = entity_type
        self.source = copy.deepcopy(source) if source else None
        self.description = description
        self.properties = dict(properties or {})
        self.status = status
        self.metadata_properties = metadata_properties
        self.tags = list(tags or [])
        self.creation_time = self.last_modified_time = utcnow()
        if lineage_type == "Artifact":
            seed = f"{account_id}:{region_name}:{name}:{source}:{next(_counter)}"
            ident = hashlib.md5(seed.encode()).hexdigest()
            self.arn = arn_formatter("artifact", ident, account_id, region_name)
        else:
            self.arn = arn_formatter(lineage_type.lower(), name.lower(), account_id, region_name)  # type: ignore[union-attr]

    @property
    def source_uri(self) -> str | None:
        return (self.source or {}).get("SourceUri")

    def _base(self, with_details: bool) -> dict[str, Any]:
        k = self.lineage_type
        out: dict[str, Any] = {
            f"{k}Arn": self.arn,
            f"{k}Name": self.name,
            "Source": copy.deepcopy(self.source),
            f"{k}Type": self.entity_type,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if k == "Action":
            out["Status"] = self.status
        if with_details:
            out["Properties"] = dict(self.properties)
            if k != "Artifact":
                out["Description"] = self.description
            if k != "Context" and self.metadata_properties:
                out["MetadataProperties"] = dict(self.metadata_properties)
        return {key: v for key, v in out.items() if v is not None}

    def summary(self) -> dict[str, Any]:
        return self._base(False)

    def describe(self) -> dict[str, Any]:
        return self._base(True)

    def vertex(self) -> dict[str, Any]:
        return {"Arn": self.arn, "Type": self.entity_type, "LineageType": self.lineage_type}


class Association(BaseModel):
    def __init__(self, source: Any, destination: Any, association_type: str) -> None:
        self.source = source
        self.destination = destination
        self.association_type = association_type
        self.creation_time = utcnow()

    def summary(self) -> dict[str, Any]:
        out = {
            "SourceArn": self.source.arn,
            "DestinationArn": self.destination.arn,
            "SourceType": _entity_type(self.source),
            "DestinationType": _entity_type(self.destination),
            "AssociationType": self.association_type,
            "SourceName": _entity_name(self.source),
            "DestinationName": _entity_name(self.destination),
            "CreationTime": self.creation_time,
        }
        return {k: v for k, v in out.items() if v is not None}

    def edge(self) -> dict[str, Any]:
        return {
            "SourceArn": self.source.arn,
            "DestinationArn": self.destination.arn,
            "AssociationType": self.association_type,
        }


def _entity_type(entity: Any) -> str | None:
    if isinstance(entity, LineageEntity):
        return entity.entity_type
    return "TrialComponent"


def _entity_name(entity: Any) -> str | None:
    if isinstance(entity, LineageEntity):
        return entity.name
    return getattr(entity, "trial_component_name", None)


def _vertex(entity: Any) -> dict[str, Any]:
    if isinstance(entity, LineageEntity):
        return entity.vertex()
    return {"Arn": entity.arn, "Type": "TrialComponent", "LineageType": "TrialComponent"}


def feature_group_context_name(fg: Any) -> str:
    base = re.sub(r"[^a-zA-Z0-9-]", "-", fg.feature_group_name)
    return f"{base}-{int(fg.creation_time.timestamp())}-feature-group"[:120]


class LineageBackendMixin:
    account_id: str
    region_name: str

    def _init_lineage(self) -> None:
        self.artifacts: dict[str, LineageEntity] = {}
        self.contexts: dict[str, LineageEntity] = {}  # lower-cased name -> context
        self.actions: dict[str, LineageEntity] = {}
        self.associations: dict[tuple[str, str], Association] = {}

    # ------------------------------------------------------------------ lookup
    def _lineage_resource_from_arn(self, arn: str) -> LineageEntity | None:
        if ":artifact/" in arn:
            return self.artifacts.get(arn)
        if ":context/" in arn:
            return self.contexts.get(arn.rsplit("/", 1)[-1].lower())
        if ":action/" in arn:
            return self.actions.get(arn.rsplit("/", 1)[-1].lower())
        return None

    def _lineage_entity(self, arn: str) -> Any:
        entity = self._lineage_resource_from_arn(arn)
        if entity is None and ":experiment-trial-component/" in arn:
            name = arn.rsplit("/", 1)[-1]
            entity = self.trial_components.get(name)  # type: ignore[attr-defined]
        if entity is None:
            raise ResourceNotFound(f"Resource Not Found: {arn} does not exist.")
        return entity

    def _named(self, store: dict[str, LineageEntity], kind: str, name_or_arn: str) -> LineageEntity:
        key = (name_or_arn or "").rsplit("/", 1)[-1].lower()
        if key not in store:
            raise ResourceNotFound(
                f"Resource Not Found: {kind} "
                f"{arn_formatter(kind.lower(), key, self.account_id, self.region_name)} "
                "does not exist."
            )
        return store[key]

    # ------------------------------------------------------------------ create
    def _create_named(self, kind: str, store: dict[str, LineageEntity], name: str, **kw: Any) -> str:
        if not name or not _NAME_RE.match(name):
            raise validation(
                f"1 validation error detected: Value '{name}' at '{kind.lower()}Name' failed "
                "to satisfy constraint: Member must satisfy regular expression pattern: "
                "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}"
            )
        if name.lower() in store:
            raise validation(f"{kind} already exists: {store[name.lower()].arn}")
        entity = LineageEntity(kind, self.account_id, self.region_name, name, **kw)
        store[name.lower()] = entity
        return entity.arn

    def create_context(
        self, context_name: str, source: dict, context_type: str, description=None, properties=None, tags=None
    ) -> str:
        return self._create_named(
            "Context",
            self.contexts,
            context_name,
            entity_type=context_type,
            source=source,
            description=description,
            properties=properties,
            tags=tags,
        )

    def create_action(
        self,
        action_name: str,
        source: dict,
        action_type: str,
        description=None,
        status=None,
        properties=None,
        metadata_properties=None,
        tags=None,
    ) -> str:
        return self._create_named(
            "Action",
            self.actions,
            action_name,
            entity_type=action_type,
            source=source,
            description=description,
            status=status or "Unknown",
            properties=properties,
            metadata_properties=metadata_properties,
            tags=tags,
        )

    def create_artifact(
        self, artifact_name, source: dict, artifact_type: str, properties=None, metadata_properties=None, tags=None
    ) -> str:
        if not source or not source.get("SourceUri"):
            raise validation("Source.SourceUri is required.")
        entity = LineageEntity(
            "Artifact",
            self.account_id,
            self.region_name,
            artifact_name,
            artifact_type,
            source,
            properties=properties,
            metadata_properties=metadata_properties,
            tags=tags,
        )
        self.artifacts[entity.arn] = entity
        return entity.arn

    # ------------------------------------------------------------------ describe / delete
    def describe_artifact(self, arn: str) -> dict:
        entity = self.artifacts.get(arn)
        if entity is None:
            raise ResourceNotFound(f"Resource Not Found: Artifact {arn} does not exist.")
        return entity.describe()

    def describe_context(self, name: str) -> dict:
        return self._named(self.contexts, "Context", name).describe()

    def describe_action(self, name: str) -> dict:
        return self._named(self.actions, "Action", name).describe()

    def _drop_associations(self, arn: str) -> None:
        for key in [k for k in self.associations if arn in k]:
            del self.associations[key]

    def delete_artifact(self, arn: str | None, source: dict | None) -> str:
        if not arn and source:
            matches = [a for a in self.artifacts.values() if a.source_uri == source.get("SourceUri")]
            arn = matches[0].arn if matches else None
        if not arn or arn not in self.artifacts:
            raise ResourceNotFound(f"Resource Not Found: Artifact {arn} does not exist.")
        del self.artifacts[arn]
        self._drop_associations(arn)
        return arn

    def delete_context(self, name: str) -> str:
        entity = self._named(self.contexts, "Context", name)
        del self.contexts[entity.name.lower()]  # type: ignore[union-attr]
        self._drop_associations(entity.arn)
        return entity.arn

    def delete_action(self, name: str) -> str:
        entity = self._named(self.actions, "Action", name)
        del self.actions[entity.name.lower()]  # type: ignore[union-attr]
        self._drop_associations(entity.arn)
        return entity.arn

    # ------------------------------------------------------------------ list
    def _list_entities(
        self,
        entities,
        source_uri,
        entity_type,
        created_after,
        created_before,
        sort_by,
        sort_order,
        max_results,
        next_token,
        scope,
    ):
        max_results = check_max_results(max_results)
        items = list(entities)
        if source_uri:
            items = [e for e in items if e.source_uri == source_uri]
        if entity_type:
            items = [e for e in items if e.entity_type == entity_type]
        if created_after:
            items = [e for e in items if e.creation_time > to_naive_utc(created_after)]
        if created_before:
            items = [e for e in items if e.creation_time < to_naive_utc(created_before)]
        if sort_by not in (None, "Name", "CreationTime"):
            raise validation(f"Invalid SortBy: {sort_by}")
        reverse = descending(sort_order)
        items.sort(key=lambda e: e.arn, reverse=reverse)
        if sort_by == "Name":
            items.sort(key=lambda e: (e.name or "").lower(), reverse=reverse)
        else:
            items.sort(key=lambda e: e.creation_time, reverse=reverse)
        page, token = paginate(
            items, max_results, next_token, f"{scope}:{source_uri}:{entity_type}:{sort_by}:{sort_order}"
        )
        return [e.summary() for e in page], token

    def list_artifacts(self, **kw: Any):
        return self._list_entities(self.artifacts.values(), scope="la", **kw)

    def list_contexts(self, **kw: Any):
        return self._list_entities(self.contexts.values(), scope="lc", **kw)

    def list_actions(self, **kw: Any):
        return self._list_entities(self.actions.values(), scope="lac", **kw)

    # ------------------------------------------------------------------ associations
    def add_association(self, source_arn: str, destination_arn: str, association_type: str | None) -> tuple[str, str]:
        association_type = association_type or "AssociatedWith"
        if association_type not in ASSOCIATION_TYPES:
            raise validation(
                f"1 validation error detected: Value '{association_type}' at 'associationType' "
                f"failed to satisfy constraint: Member must satisfy enum value set: {list(ASSOCIATION_TYPES)}"
            )
        source = self._lineage_entity(source_arn)
        destination = self._lineage_entity(destination_arn)
        if (source.arn, destination.arn) in self.associations:
            raise validation(f"Association already exists between {source.arn} and {destination.arn}.")
        self.associations[(source.arn, destination.arn)] = Association(source, destination, association_type)
        return source.arn, destination.arn

    def delete_association(self, source_arn: str, destination_arn: str) -> tuple[str, str]:
        if (source_arn, destination_arn) not in self.associations:
            raise ResourceNotFound(
                f"Resource Not Found: Association between {source_arn} and {destination_arn} does not exist."
            )
        del self.associations[(source_arn, destination_arn)]
        return source_arn, destination_arn

    def list_associations(
        self,
        source_arn=None,
        destination_arn=None,
        source_type=None,
        destination_type=None,
        association_type=None,
        created_after=None,
        created_before=None,
        sort_by=None,
        sort_order=None,
        next_token=None,
        max_results=None,
    ):
        max_results = check_max_results(max_results)
        items = list(self.associations.values())
        s = [a.summary() for a in items]
        filters = {
            "SourceArn": source_arn,
            "DestinationArn": destination_arn,
            "SourceType": source_type,
            "DestinationType": destination_type,
            "AssociationType": association_type,
        }
        for key, wanted in filters.items():
            if wanted:
                s = [a for a in s if a.get(key) == wanted]
        if created_after:
            s = [a for a in s if a["CreationTime"] > to_naive_utc(created_after)]
        if created_before:
            s = [a for a in s if a["CreationTime"] < to_naive_utc(created_before)]
        sort_by = sort_by or "CreationTime"
        if sort_by not in ("SourceArn", "DestinationArn", "SourceType", "DestinationType", "CreationTime"):
            raise validation(f"Invalid SortBy: {sort_by}")
        reverse = descending(sort_order)
        s.sort(key=lambda a: (a["SourceArn"], a["DestinationArn"]), reverse=reverse)
        s.sort(key=lambda a: a.get(sort_by) or "", reverse=reverse)
        scope = f"lassoc:{filters}:{sort_by}:{sort_order}"
        return paginate(s, max_results, next_token, scope)

    # ------------------------------------------------------------------ query
    def query_lineage(
        self,
        start_arns: list[str],
        direction: str | None,
        include_edges: bool | None,
        filters: dict | None,
        max_depth: int | None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict:
        # The model's limits, which botocore does not check client-side: one
        # start ARN, MaxDepth ≤ 10, MaxResults ≤ 50.
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_QueryLineage.html
        if len(start_arns) > QUERY_LINEAGE_MAX_START_ARNS:
            raise validation(
                f"1 validation error detected: Value '[{', '.join(start_arns)}]' at 'startArns' failed to satisfy "
                f"constraint: Member must have length less than or equal to {QUERY_LINEAGE_MAX_START_ARNS}"
            )
        if not start_arns:
            raise validation("StartArns must contain at least one ARN.")
        if max_depth is not None and int(max_depth) > QUERY_LINEAGE_MAX_DEPTH:
            raise validation(
                f"1 validation error detected: Value '{max_depth}' at 'maxDepth' failed to satisfy constraint: "
                f"Member must have value less than or equal to {QUERY_LINEAGE_MAX_DEPTH}"
            )
        if max_results is not None and int(max_results) > QUERY_LINEAGE_MAX_RESULTS:
            raise validation(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                f"Member must have value less than or equal to {QUERY_LINEAGE_MAX_RESULTS}"
            )
        max_results = check_max_results(max_results)
        direction = direction or "Both"
        if direction not in ("Ascendants", "Descendants", "Both"):
            raise validation(f"Invalid Direction: {direction}")
        max_depth = QUERY_LINEAGE_MAX_DEPTH if max_depth is None else int(max_depth)
        outgoing: dict[str, list[Association]] = {}
        incoming: dict[str, list[Association]] = {}
        for a in self.associations.values():
            outgoing.setdefault(a.source.arn, []).append(a)
            incoming.setdefault(a.destination.arn, []).append(a)
        vertices: dict[str, Any] = {}
        edges: dict[tuple[str, str], Association] = {}
        starts = [self._lineage_entity(arn) for arn in start_arns]
        for start in starts:
            vertices[start.arn] = start
        walks = []
        if direction in ("Descendants", "Both"):
            walks.append((outgoing, lambda a: a.destination))
        if direction in ("Ascendants", "Both"):
            walks.append((incoming, lambda a: a.source))
        for index, step in walks:
            seen = {s.arn for s in starts}
            queue = deque((s, 0) for s in starts)
            while queue:
                node, depth = queue.popleft()
                if depth >= max_depth:
                    continue
                for assoc in index.get(node.arn, []):
                    edges[(assoc.source.arn, assoc.destination.arn)] = assoc
                    nxt = step(assoc)
                    vertices[nxt.arn] = nxt
                    if nxt.arn not in seen:
                        seen.add(nxt.arn)
                        queue.append((nxt, depth + 1))
        out_vertices = [_vertex(v) for v in vertices.values()]
        if filters:
            types = filters.get("Types")
            lineage_types = filters.get("LineageTypes")
            created_before = filters.get("CreatedBefore")
            created_after = filters.get("CreatedAfter")

            def keep(v: dict) -> bool:
                entity = vertices[v["Arn"]]
                if types and v["Type"] not in types:
                    return False
                if lineage_types and v["LineageType"] not in lineage_types:
                    return False
                ct = getattr(entity, "creation_time", None)
                if created_before and ct and ct >= to_naive_utc(created_before):
                    return False
                if created_after and ct and ct <= to_naive_utc(created_after):
                    return False
                return True

            out_vertices = [v for v in out_vertices if keep(v) or v["Arn"] in start_arns]
        # Vertices are paged; each edge comes with the page of whichever of its
        # two ends is listed last, so every page's edges join vertices seen so far.
        scope = f"ql:{start_arns[0]}:{direction}:{max_depth}:{include_edges}"
        page, token = paginate(out_vertices, max_results, next_token, scope)
        result: dict[str, Any] = {"Vertices": page}
        if include_edges is None or include_edges:
            position = {v["Arn"]: i for i, v in enumerate(out_vertices)}
            first = decode_token(next_token, scope)
            last = first + len(page)
            result["Edges"] = [
                a.edge()
                for a in edges.values()
                if first <= max(position.get(a.source.arn, -1), position.get(a.destination.arn, -1)) < last
            ]
        if token:
            result["NextToken"] = token
        return result

    # ------------------------------------------------------------------ feature store hooks
    def _on_feature_group_created(self, fg: Any) -> None:
        name = feature_group_context_name(fg)
        if name.lower() in self.contexts:
            return
        self.create_context(
            context_name=name,
            source={"SourceUri": fg.arn, "SourceType": "ARN"},
            context_type="FeatureGroup",
            description=f"Lineage context of feature group {fg.feature_group_name}",
            properties={"FeatureGroupName": fg.feature_group_name},
        )

    def _on_feature_group_deleted(self, fg: Any) -> None:
        for ctx in [c for c in self.contexts.values() if c.source_uri == fg.arn]:
            self.delete_context(ctx.name)  # type: ignore[arg-type]


def _page(result: list, token: str | None, key: str) -> dict:
    out: dict[str, Any] = {key: result}
    if token:
        out["NextToken"] = token
    return out


class LineageResponseMixin:
    def _list_kwargs(self, type_param: str) -> dict:
        return {
            "source_uri": self._get_param("SourceUri"),
            "entity_type": self._get_param(type_param),
            "created_after": self._get_param("CreatedAfter"),
            "created_before": self._get_param("CreatedBefore"),
            "sort_by": self._get_param("SortBy"),
            "sort_order": self._get_param("SortOrder"),
            "max_results": self._get_param("MaxResults"),
            "next_token": self._get_param("NextToken"),
        }

    def create_artifact(self) -> ActionResult:
        arn = self.sagemaker_backend.create_artifact(
            artifact_name=self._get_param("ArtifactName"),
            source=self._get_param("Source"),
            artifact_type=self._get_param("ArtifactType"),
            properties=self._get_param("Properties"),
            metadata_properties=self._get_param("MetadataProperties"),
            tags=self._get_param("Tags"),
        )
        return ActionResult({"ArtifactArn": arn})

    def create_context(self) -> ActionResult:
        arn = self.sagemaker_backend.create_context(
            context_name=self._get_param("ContextName"),
            source=self._get_param("Source"),
            context_type=self._get_param("ContextType"),
            description=self._get_param("Description"),
            properties=self._get_param("Properties"),
            tags=self._get_param("Tags"),
        )
        return ActionResult({"ContextArn": arn})

    def create_action(self) -> ActionResult:
        arn = self.sagemaker_backend.create_action(
            action_name=self._get_param("ActionName"),
            source=self._get_param("Source"),
            action_type=self._get_param("ActionType"),
            description=self._get_param("Description"),
            status=self._get_param("Status"),
            properties=self._get_param("Properties"),
            metadata_properties=self._get_param("MetadataProperties"),
            tags=self._get_param("Tags"),
        )
        return ActionResult({"ActionArn": arn})

    def describe_artifact(self) -> ActionResult:
        return ActionResult(self.sagemaker_backend.describe_artifact(self._get_param("ArtifactArn")))

    def describe_context(self) -> ActionResult:
        return ActionResult(self.sagemaker_backend.describe_context(self._get_param("ContextName")))

    def describe_action(self) -> ActionResult:
        return ActionResult(self.sagemaker_backend.describe_action(self._get_param("ActionName")))

    def delete_artifact(self) -> ActionResult:
        arn = self.sagemaker_backend.delete_artifact(self._get_param("ArtifactArn"), self._get_param("Source"))
        return ActionResult({"ArtifactArn": arn})

    def delete_context(self) -> ActionResult:
        return ActionResult({"ContextArn": self.sagemaker_backend.delete_context(self._get_param("ContextName"))})

    def delete_action(self) -> ActionResult:
        return ActionResult({"ActionArn": self.sagemaker_backend.delete_action(self._get_param("ActionName"))})

    def list_artifacts(self) -> ActionResult:
        items, token = self.sagemaker_backend.list_artifacts(**self._list_kwargs("ArtifactType"))
        return ActionResult(_page(items, token, "ArtifactSummaries"))

    def list_contexts(self) -> ActionResult:
        items, token = self.sagemaker_backend.list_contexts(**self._list_kwargs("ContextType"))
        return ActionResult(_page(items, token, "ContextSummaries"))

    def list_actions(self) -> ActionResult:
        items, token = self.sagemaker_backend.list_actions(**self._list_kwargs("ActionType"))
        return ActionResult(_page(items, token, "ActionSummaries"))

    def add_association(self) -> ActionResult:
        src, dst = self.sagemaker_backend.add_association(
            self._get_param("SourceArn"), self._get_param("DestinationArn"), self._get_param("AssociationType")
        )
        return ActionResult({"SourceArn": src, "DestinationArn": dst})

    def delete_association(self) -> ActionResult:
        src, dst = self.sagemaker_backend.delete_association(
            self._get_param("SourceArn"), self._get_param("DestinationArn")
        )
        return ActionResult({"SourceArn": src, "DestinationArn": dst})

    def list_associations(self) -> ActionResult:
        items, token = self.sagemaker_backend.list_associations(
            source_arn=self._get_param("SourceArn"),
            destination_arn=self._get_param("DestinationArn"),
            source_type=self._get_param("SourceType"),
            destination_type=self._get_param("DestinationType"),
            association_type=self._get_param("AssociationType"),
            created_after=self._get_param("CreatedAfter"),
            created_before=self._get_param("CreatedBefore"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            next_token=self._get_param("NextToken"),
            max_results=self._get_param("MaxResults"),
        )
        return ActionResult(_page(items, token, "AssociationSummaries"))

    def query_lineage(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.query_lineage(
                start_arns=self._get_param("StartArns") or [],
                direction=self._get_param("Direction"),
                include_edges=self._get_param("IncludeEdges"),
                filters=self._get_param("Filters"),
                max_depth=self._get_param("MaxDepth"),
                max_results=self._get_param("MaxResults"),
                next_token=self._get_param("NextToken"),
            )
        )

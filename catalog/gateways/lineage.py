"""SageMaker ML lineage gateway: contexts, artifacts, associations and QueryLineage of one account and region."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from portal.aws import Gateway

# The List* lineage calls return at most 100 items a page.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListContexts.html
LIST_PAGE_SIZE = 100
# QueryLineage: StartArns holds at most one ARN, MaxDepth is at most 10 and
# MaxResults at most 50 (AWS answers ValidationException above them).
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_QueryLineage.html
QUERY_PAGE_SIZE = 50
MAX_DEPTH = 10


@dataclass(frozen=True)
class LineageEntity:
    """An Artifact, Context or Action as ListContexts/Describe* return it."""

    arn: str
    lineage_type: str  # "Artifact", "Context" or "Action"
    type: str  # e.g. "DataSet", "Model", "FeatureGroup", "Endpoint", "ProcessingJob"
    name: str
    source_uri: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageVertex:
    arn: str
    type: str
    lineage_type: str


@dataclass(frozen=True)
class LineageAssociation:
    source_arn: str
    destination_arn: str
    association_type: str
    source_type: str = ""
    destination_type: str = ""
    source_name: str = ""
    destination_name: str = ""


@dataclass(frozen=True)
class LineageQueryResult:
    vertices: tuple[LineageVertex, ...]
    edges: tuple[LineageAssociation, ...]


def lineage_type_of_arn(arn: str) -> str:
    """ "Artifact", "Context", "Action" or "TrialComponent", read from the ARN's resource part."""
    resource = arn.split(":", 5)[-1]
    prefix = resource.split("/", 1)[0]
    return {
        "artifact": "Artifact",
        "context": "Context",
        "action": "Action",
        "experiment-trial-component": "TrialComponent",
    }.get(prefix, "")


def _lineage_entity(raw: dict, lineage_type: str) -> LineageEntity:
    return LineageEntity(
        arn=raw[f"{lineage_type}Arn"],
        lineage_type=lineage_type,
        type=raw.get(f"{lineage_type}Type", "") or "",
        name=raw.get(f"{lineage_type}Name", "") or "",
        source_uri=(raw.get("Source") or {}).get("SourceUri", "") or "",
        properties=dict(raw.get("Properties") or {}),
    )


class LineageGateway(Gateway):
    """SageMaker ML lineage calls for one account and region."""

    service = "sagemaker"

    def feature_group_contexts(self) -> Iterator[LineageEntity]:
        """Every lineage context of type FeatureGroup; Source.SourceUri is the group's ARN."""
        for page in self._pages("ListContexts", page_size=LIST_PAGE_SIZE, ContextType="FeatureGroup"):
            for raw in page.get("ContextSummaries", []):
                yield _lineage_entity(raw, "Context")

    def describe_artifact(self, arn: str) -> LineageEntity:
        return _lineage_entity(self._call("DescribeArtifact", ArtifactArn=arn), "Artifact")

    def describe_context(self, name_or_arn: str) -> LineageEntity:
        # DescribeContext takes the context *name*; the ARN's last part is it.
        name = name_or_arn.rsplit("/", 1)[-1]
        return _lineage_entity(self._call("DescribeContext", ContextName=name), "Context")

    def query_lineage(self, *, start_arn: str, direction: str = "Both", max_depth: int = 5) -> LineageQueryResult:
        """Vertices and edges within `max_depth` hops of one start ARN, every page merged.

        botocore has no paginator for QueryLineage, so this follows NextToken by hand.
        """
        params: dict[str, Any] = {
            "StartArns": [start_arn],
            "Direction": direction,
            "IncludeEdges": True,
            "MaxDepth": min(max(max_depth, 1), MAX_DEPTH),
            "MaxResults": QUERY_PAGE_SIZE,
        }
        vertices: dict[str, LineageVertex] = {}
        edges: dict[tuple[str, str], LineageAssociation] = {}
        while True:
            page = self._call("QueryLineage", **params)
            for raw in page.get("Vertices", []):
                vertices[raw["Arn"]] = LineageVertex(
                    arn=raw["Arn"], type=raw.get("Type", "") or "", lineage_type=raw.get("LineageType", "") or ""
                )
            for raw in page.get("Edges", []):
                edges[(raw["SourceArn"], raw["DestinationArn"])] = LineageAssociation(
                    source_arn=raw["SourceArn"],
                    destination_arn=raw["DestinationArn"],
                    association_type=raw.get("AssociationType", "") or "",
                )
            token = page.get("NextToken")
            if not token:
                return LineageQueryResult(vertices=tuple(vertices.values()), edges=tuple(edges.values()))
            params["NextToken"] = token

    def list_associations(self, *, source_arn: str, association_type: str = "") -> Iterator[LineageAssociation]:
        params: dict[str, Any] = {"SourceArn": source_arn}
        if association_type:
            params["AssociationType"] = association_type
        for page in self._pages("ListAssociations", page_size=LIST_PAGE_SIZE, **params):
            for raw in page.get("AssociationSummaries", []):
                yield LineageAssociation(
                    source_arn=raw["SourceArn"],
                    destination_arn=raw["DestinationArn"],
                    association_type=raw.get("AssociationType", "") or "",
                    source_type=raw.get("SourceType", "") or "",
                    destination_type=raw.get("DestinationType", "") or "",
                    source_name=raw.get("SourceName", "") or "",
                    destination_name=raw.get("DestinationName", "") or "",
                )

"""OpenLineage events: strict validation and dataset naming.

Pantry accepts the three events of the OpenLineage 2 spec
(https://openlineage.io/spec/2-0-2/OpenLineage.json) as Airflow, Spark, dbt
and the `openlineage-python` client emit them: RunEvent (a run read inputs
and wrote outputs), JobEvent (static lineage: a job's inputs and outputs,
with no run) and DatasetEvent (a dataset's metadata). Validation is a DRF serializer so
a bad event is answered with the wrong field by name, nested the way it sits
in the event (`{"run": {"runId": ["Must be a valid UUID."]}}`).

Dataset names follow the OpenLineage naming conventions
(https://openlineage.io/docs/spec/naming): S3 is namespace `s3://bucket`,
name `path`; Glue is namespace `arn:aws:glue:{region}:{account}`, name
`table/{database}/{table}`; a warehouse table is `database.table`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from rest_framework import serializers

# Caps that keep one event from turning into an unbounded write.
MAX_DATASETS = 500
MAX_SYMLINKS = 20
MAX_NAME = 1000

EVENT_TYPES = ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]

FEATURE_GROUP_ARN_RE = re.compile(
    r"arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):feature-group/(?P<name>[A-Za-z0-9_-]{1,64})",
    re.IGNORECASE,
)
GLUE_ARN_NAMESPACE_RE = re.compile(r"^arn:aws[a-z-]*:glue:(?P<region>[a-z0-9-]+):(?P<account>\d{12})$", re.IGNORECASE)
GLUE_TABLE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:glue:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<database>[^/]+)/(?P<table>[^/]+)$",
    re.IGNORECASE,
)


class _Text(serializers.CharField):
    """A JSON string. DRF's CharField also takes numbers (`"name": 0` became "0"); the spec's
    names, producer and schemaURL are strings, and strict validation says so."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _UuidText(serializers.UUIDField):
    """A UUID written as a JSON string (DRF's UUIDField also reads an integer as UUID(int=...))."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class _FacetsField(serializers.DictField):
    """A facets object: names to objects. Pantry keeps facets as sent."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(), required=False, **kwargs)


class SymlinkIdentifierSerializer(serializers.Serializer):
    namespace = _Text(max_length=MAX_NAME)
    name = _Text(max_length=MAX_NAME)
    type = _Text(max_length=100, required=False, allow_blank=True)


class SymlinksFacetSerializer(serializers.Serializer):
    identifiers = serializers.ListField(child=SymlinkIdentifierSerializer(), max_length=MAX_SYMLINKS)


class DatasetSerializer(serializers.Serializer):
    namespace = _Text(max_length=MAX_NAME)
    name = _Text(max_length=MAX_NAME)
    facets = _FacetsField()
    inputFacets = _FacetsField()  # noqa: N815 - the spec's field name
    outputFacets = _FacetsField()  # noqa: N815

    def validate_facets(self, value: dict) -> dict:
        # Only the facets Pantry reads are checked; others pass through as sent.
        symlinks = value.get("symlinks")
        if symlinks is not None:
            serializer = SymlinksFacetSerializer(data=symlinks)
            if not serializer.is_valid():
                raise serializers.ValidationError({"symlinks": serializer.errors})
        for facet in ("storage", "dataSource"):
            if facet in value and not isinstance(value[facet], dict):
                raise serializers.ValidationError({facet: ["Must be an object."]})
        data_source = value.get("dataSource") or {}
        if "uri" in data_source and not isinstance(data_source["uri"], str):
            raise serializers.ValidationError({"dataSource": {"uri": ["Must be a string."]}})
        return value


class RunSerializer(serializers.Serializer):
    runId = _UuidText()  # noqa: N815
    facets = _FacetsField()


class JobSerializer(serializers.Serializer):
    namespace = _Text(max_length=512)
    name = _Text(max_length=512)
    facets = _FacetsField()


class _EventSerializer(serializers.Serializer):
    expected = "an OpenLineage event object"

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": [f"Expected {self.expected}."]}, code="invalid")
        return super().to_internal_value(data)


class JobEventSerializer(_EventSerializer):
    """A JobEvent: static lineage of a job, without a run."""

    expected = "an OpenLineage JobEvent object"
    eventTime = serializers.DateTimeField()  # noqa: N815
    producer = _Text(max_length=2048)
    schemaURL = _Text(max_length=2048)  # noqa: N815
    job = JobSerializer()
    inputs = serializers.ListField(child=DatasetSerializer(), required=False, max_length=MAX_DATASETS)
    outputs = serializers.ListField(child=DatasetSerializer(), required=False, max_length=MAX_DATASETS)


class DatasetEventSerializer(_EventSerializer):
    """A DatasetEvent: a dataset's facets (schema, documentation, ownership, …)."""

    expected = "an OpenLineage DatasetEvent object"
    eventTime = serializers.DateTimeField()  # noqa: N815
    producer = _Text(max_length=2048)
    schemaURL = _Text(max_length=2048)  # noqa: N815
    dataset = DatasetSerializer()


class RunEventSerializer(_EventSerializer):
    """An OpenLineage RunEvent. Unknown top-level fields are kept in the stored payload."""

    expected = "an OpenLineage RunEvent object"
    eventType = serializers.ChoiceField(choices=EVENT_TYPES, required=False)  # noqa: N815
    eventTime = serializers.DateTimeField()  # noqa: N815
    producer = _Text(max_length=2048)
    schemaURL = _Text(max_length=2048)  # noqa: N815
    run = RunSerializer()
    job = JobSerializer()
    inputs = serializers.ListField(child=DatasetSerializer(), required=False, max_length=MAX_DATASETS)
    outputs = serializers.ListField(child=DatasetSerializer(), required=False, max_length=MAX_DATASETS)


EVENT_SERIALIZERS = {"run": RunEventSerializer, "job": JobEventSerializer, "dataset": DatasetEventSerializer}


def event_kind(data) -> str:
    """Which OpenLineage event `data` is: run, job or dataset.

    The `schemaURL` fragment (`#/$defs/JobEvent`) names it when present, as
    every OpenLineage client sends it; otherwise the shape decides. Anything
    unclear is validated as a RunEvent, so its errors name the missing fields.
    """
    if not isinstance(data, dict):
        return "run"
    schema = str(data.get("schemaURL") or "")
    for kind, name in (("run", "RunEvent"), ("job", "JobEvent"), ("dataset", "DatasetEvent")):
        if schema.endswith(f"/$defs/{name}"):
            return kind
    if "dataset" in data and "run" not in data and "job" not in data:
        return "dataset"
    if "job" in data and "run" not in data and "eventType" not in data:
        return "job"
    return "run"


def event_identity(*, kind: str, submitter_id: int | None, validated: dict) -> str:
    """What makes two posts the same event of the same poster (a client retrying)."""
    event_time: datetime = validated["eventTime"]
    if kind == "dataset":
        subject = [validated["dataset"]["namespace"], validated["dataset"]["name"]]
    else:
        subject = [validated["job"]["namespace"], validated["job"]["name"]]
    run = [str(validated["run"]["runId"]), validated.get("eventType", "")] if kind == "run" else []
    parts = [kind, str(submitter_id or ""), *run, event_time.astimezone(UTC).isoformat(), *subject]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# ---------------------------------------------------------------------------
# Dataset identifiers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetRef:
    """One name a dataset goes by: its own namespace/name or one of its symlinks."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}::{self.name}"


def dataset_refs(dataset: dict) -> list[DatasetRef]:
    """The dataset's own identifier first, then its symlinks (e.g. the Glue table of an S3 path)."""
    refs = [DatasetRef(dataset["namespace"], dataset["name"])]
    symlinks = ((dataset.get("facets") or {}).get("symlinks") or {}).get("identifiers") or []
    refs.extend(DatasetRef(s["namespace"], s["name"]) for s in symlinks)
    data_source_uri = ((dataset.get("facets") or {}).get("dataSource") or {}).get("uri") or ""
    if data_source_uri.startswith(("s3://", "s3a://", "s3n://")) and "/" in data_source_uri[5:]:
        bucket, _, path = normalise_s3_uri(data_source_uri)[5:].partition("/")
        refs.append(DatasetRef(f"s3://{bucket}", path))
    return refs


def feature_group_arn_in(ref: DatasetRef) -> str:
    """A feature group ARN named anywhere in the identifier, or ''.

    Also split in two, as some emitters write ARNs: namespace
    `arn:aws:sagemaker:REGION:ACCOUNT`, name `feature-group/NAME`.
    """
    for text in (ref.name, ref.namespace, f"{ref.namespace}:{ref.name}", f"{ref.namespace}/{ref.name}"):
        match = FEATURE_GROUP_ARN_RE.search(text)
        if match:
            return match.group(0)
    return ""


@dataclass(frozen=True)
class GlueRef:
    database: str
    table: str
    account: str = ""
    region: str = ""

    @property
    def key(self) -> str:
        return f"glue://{self.database}/{self.table}"


def glue_table_in(ref: DatasetRef) -> GlueRef | None:
    """The Glue (or warehouse) table an identifier names, if it names one."""
    ns, name = ref.namespace.strip(), ref.name.strip()
    arn_ns = GLUE_ARN_NAMESPACE_RE.match(ns)
    if arn_ns:
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "table":
            return GlueRef(parts[1].lower(), parts[2].lower(), arn_ns["account"], arn_ns["region"])
        if len(parts) == 1 and name.count(".") == 1:
            database, table = name.split(".")
            return GlueRef(database.lower(), table.lower(), arn_ns["account"], arn_ns["region"])
        return None
    table_arn = GLUE_TABLE_ARN_RE.match(name) or GLUE_TABLE_ARN_RE.match(ns)
    if table_arn:
        return GlueRef(
            table_arn["database"].lower(), table_arn["table"].lower(), table_arn["account"], table_arn["region"]
        )
    if ns.lower().startswith("glue://"):
        rest = name.replace("/", ".")
        if rest.count(".") >= 1:
            database, table = rest.split(".")[-2:]
            return GlueRef(database.lower(), table.lower())
        return None
    if ns.lower().startswith(("s3://", "s3a://", "s3n://", "file:")):
        return None
    # A warehouse-style name: database.table or catalog.database.table.
    if "/" not in name and 1 <= name.count(".") <= 2:
        database, table = name.split(".")[-2:]
        if database and table:
            return GlueRef(database.lower(), table.lower())
    return None


def normalise_s3_uri(uri: str) -> str:
    """s3a:// and s3n:// are s3://; no trailing slash."""
    for scheme in ("s3a://", "s3n://"):
        if uri.startswith(scheme):
            uri = "s3://" + uri[len(scheme) :]
    return uri.rstrip("/")


def s3_uri_in(ref: DatasetRef) -> str:
    """The s3:// URI an identifier names, or ''."""
    ns = ref.namespace.strip()
    if not ns.startswith(("s3://", "s3a://", "s3n://")):
        return ""
    bucket = normalise_s3_uri(ns)
    if bucket == "s3:/" or not bucket[5:]:
        return ""
    name = ref.name.strip().lstrip("/")
    if name.startswith(("s3://", "s3a://", "s3n://")):
        return normalise_s3_uri(name)
    return normalise_s3_uri(f"{bucket}/{name}" if name else bucket)

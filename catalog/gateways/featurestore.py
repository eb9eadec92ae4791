"""SageMaker Feature Store gateway: feature groups and feature metadata of one account and region."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from portal.aws import Gateway

# Search returns at most 100 results a page.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Search.html
SEARCH_PAGE_SIZE = 100
# ListTags returns at most 100 tags a page (a resource has at most 50).
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTags.html
LIST_TAGS_PAGE_SIZE = 100

# Search's default order is LastModifiedTime, descending, and its NextToken
# continues "after" the last result: a group edited while we page moves to the
# front, past the cursor, and drops out of the listing. CreationTime does not
# change when a group or feature is edited, and a group created meanwhile sorts
# last, so ascending CreationTime keeps every existing result in the listing.
STABLE_ORDER = {"SortBy": "CreationTime", "SortOrder": "Ascending"}

# Filter values for timestamp properties must be "YYYY-mm-dd'T'HH:MM:SS" (UTC,
# whole seconds, no offset): Filter.Value in
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Filter.html
SEARCH_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"


def search_timestamp(value: datetime) -> str:
    """`value` as a Search filter value: UTC, rounded down to the second (so `>=` loses nothing)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(SEARCH_TIMESTAMP_FORMAT)


@dataclass(frozen=True)
class FeatureDefinition:
    name: str
    type: str
    collection_type: str = ""
    collection_config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureGroupRecord:
    arn: str
    name: str
    record_identifier_feature: str
    event_time_feature: str
    description: str
    status: str
    offline_store_status: str
    online_store_enabled: bool
    online_store_config: dict
    offline_store_enabled: bool
    offline_s3_uri: str
    glue_database: str
    glue_table: str
    table_format: str
    role_arn: str
    created_at: datetime | None
    modified_at: datetime | None
    # None when the listing did not carry them (then a Describe fills them in).
    features: tuple[FeatureDefinition, ...] | None
    tags: dict[str, str] | None


@dataclass(frozen=True)
class FeatureMetadataRecord:
    group_arn: str
    group_name: str
    name: str
    type: str
    description: str
    parameters: dict[str, str]
    created_at: datetime | None
    modified_at: datetime | None


def _feature_definitions(raw: list[dict]) -> tuple[FeatureDefinition, ...]:
    return tuple(
        FeatureDefinition(
            name=item["FeatureName"],
            type=item.get("FeatureType", ""),
            collection_type=item.get("CollectionType", "") or "",
            collection_config=item.get("CollectionConfig", {}) or {},
        )
        for item in raw
    )


def _tags(raw: list[dict] | None) -> dict[str, str] | None:
    if raw is None:
        return None
    return {item["Key"]: item.get("Value", "") for item in raw}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _feature_group_record(raw: dict) -> FeatureGroupRecord:
    """A record from a DescribeFeatureGroup response or a Search result item."""
    online = raw.get("OnlineStoreConfig") or {}
    offline = raw.get("OfflineStoreConfig") or {}
    catalog = offline.get("DataCatalogConfig") or {}
    s3 = offline.get("S3StorageConfig") or {}
    definitions = raw.get("FeatureDefinitions")
    return FeatureGroupRecord(
        arn=raw["FeatureGroupArn"],
        name=raw["FeatureGroupName"],
        record_identifier_feature=raw.get("RecordIdentifierFeatureName", ""),
        event_time_feature=raw.get("EventTimeFeatureName", ""),
        description=raw.get("Description", "") or "",
        status=raw.get("FeatureGroupStatus", "") or "",
        offline_store_status=(raw.get("OfflineStoreStatus") or {}).get("Status", ""),
        online_store_enabled=bool(online.get("EnableOnlineStore")),
        online_store_config=_jsonable(online),
        offline_store_enabled=bool(offline),
        offline_s3_uri=s3.get("ResolvedOutputS3Uri") or s3.get("S3Uri", "") or "",
        glue_database=catalog.get("Database", "") or "",
        glue_table=catalog.get("TableName", "") or "",
        table_format=offline.get("TableFormat", "") or "",
        role_arn=raw.get("RoleArn", "") or "",
        created_at=raw.get("CreationTime"),
        modified_at=raw.get("LastModifiedTime"),
        features=_feature_definitions(definitions) if definitions is not None else None,
        tags=_tags(raw.get("Tags")),
    )


def _feature_metadata_record(raw: dict) -> FeatureMetadataRecord:
    return FeatureMetadataRecord(
        group_arn=raw["FeatureGroupArn"],
        group_name=raw.get("FeatureGroupName", ""),
        name=raw["FeatureName"],
        type=raw.get("FeatureType", ""),
        description=raw.get("Description", "") or "",
        parameters={p["Key"]: p.get("Value", "") for p in raw.get("Parameters") or []},
        created_at=raw.get("CreationTime"),
        modified_at=raw.get("LastModifiedTime"),
    )


class FeatureStoreGateway(Gateway):
    """SageMaker Feature Store calls for one account and region."""

    service = "sagemaker"

    def _search_pages(self, resource: str, filters: list[dict] | None = None) -> Iterator[list[dict]]:
        params: dict[str, Any] = {"Resource": resource, **STABLE_ORDER}
        if filters:
            params["SearchExpression"] = {"Filters": filters}
        for page in self._pages("Search", page_size=SEARCH_PAGE_SIZE, **params):
            yield [item[resource] for item in page.get("Results", []) if resource in item]

    def feature_group_pages(self) -> Iterator[list[FeatureGroupRecord]]:
        """Every feature group of the account in this region, a page (≤ 100) at a time."""
        for page in self._search_pages("FeatureGroup"):
            yield [_feature_group_record(raw) for raw in page]

    def feature_metadata_pages(
        self, *, modified_since: datetime | None = None
    ) -> Iterator[list[FeatureMetadataRecord]]:
        """Feature metadata of every group, optionally only what changed at or after a time."""
        filters = None
        if modified_since is not None:
            filters = [
                {
                    "Name": "LastModifiedTime",
                    "Operator": "GreaterThanOrEqualTo",
                    "Value": search_timestamp(modified_since),
                }
            ]
        for page in self._search_pages("FeatureMetadata", filters):
            yield [_feature_metadata_record(raw) for raw in page]

    def describe_feature_group(self, name_or_arn: str) -> FeatureGroupRecord:
        """DescribeFeatureGroup, following NextToken through all feature definitions.

        botocore has no paginator for DescribeFeatureGroup (its NextToken pages
        only FeatureDefinitions, and the last page carries an empty one), so
        this loop stays hand-written.
        """
        response = self._call("DescribeFeatureGroup", FeatureGroupName=name_or_arn)
        definitions = list(response.get("FeatureDefinitions", []))
        token = response.get("NextToken")
        while token:
            page = self._call("DescribeFeatureGroup", FeatureGroupName=name_or_arn, NextToken=token)
            definitions.extend(page.get("FeatureDefinitions", []))
            token = page.get("NextToken")
        return _feature_group_record({**response, "FeatureDefinitions": definitions})

    def list_tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self._pages("ListTags", page_size=LIST_TAGS_PAGE_SIZE, ResourceArn=arn):
            tags.update({t["Key"]: t.get("Value", "") for t in page.get("Tags", [])})
        return tags

    def update_feature_metadata(
        self,
        *,
        group: str,
        feature: str,
        description: str,
        parameter_additions: dict[str, str],
        parameter_removals: list[str],
    ) -> None:
        params: dict[str, Any] = {"FeatureGroupName": group, "FeatureName": feature, "Description": description}
        if parameter_additions:
            params["ParameterAdditions"] = [{"Key": k, "Value": v} for k, v in parameter_additions.items()]
        if parameter_removals:
            params["ParameterRemovals"] = list(parameter_removals)
        self._call("UpdateFeatureMetadata", **params)

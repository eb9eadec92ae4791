"""SageMaker Feature Store control plane on top of moto's SageMaker backend.

Written in moto's style: :class:`PantryFeatureGroup` subclasses moto's ``FeatureGroup`` model,
:class:`FeatureStoreBackendMixin` is mixed into moto's ``SageMakerModelBackend`` and
:class:`FeatureStoreResponseMixin` adds/overrides ``SageMakerResponse`` handlers (see
:mod:`sandbox.extensions`).

Sandbox choices (documented differences from AWS):

* ``DescribeFeatureGroup`` pages ``FeatureDefinitions`` by :data:`FEATURE_DEFINITIONS_PAGE_SIZE`
  (1000); ``NextToken`` is "" on the last page (the API model makes it required).
* ``AddTags`` / ``DeleteTags`` on a feature group bump its ``LastModifiedTime`` (AWS does not);
  Pantry's incremental sync relies on ``LastModifiedTime``.
* ``UpdateFeatureMetadata`` bumps only the feature's ``LastModifiedTime`` (as AWS).
* ``Search`` defaults to ``MaxResults=10`` and, as AWS documents, to ``SortBy=LastModifiedTime``,
  ``SortOrder=Descending``; ties are broken by ARN (and feature name). Its ``NextToken`` holds
  the sort key of the last result and the next page continues after that key in the live
  listing, so an item edited between pages moves (and can be skipped), as on AWS.
* ``Search`` with ``CrossAccountFilterOption=CrossAccount`` returns only other accounts' groups
  made discoverable to the caller; their tags are neither searchable nor returned (AWS's table of
  searchable metadata: https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-search-feature-group-metadata.html).
* Timestamp filter values must be ``YYYY-mm-dd'T'HH:MM:SS`` (``ValidationException`` otherwise).
* Search indexing lag (``POST /_sandbox/search-lag``): feature metadata edited while a lag is set
  stays searchable in its previous version until the lag passes or the index is flushed.
* ``ListFeatureGroups`` defaults to ``MaxResults=10`` and ``CreationTime`` descending; a ``SortOrder``
  other than Ascending / Descending is a ``ValidationException`` (also ``ListContexts`` / ``ListAssociations``).
* A feature group ARN of another account resolves only when :mod:`sandbox.state` grants the
  caller access (``AccessDeniedException`` otherwise).
* A tag key starting with ``aws:`` (any case) is refused by ``AddTags`` and ``CreateFeatureGroup``
  with a ``ValidationException`` saying the prefix is reserved. AWS reserves the prefix
  (https://docs.aws.amazon.com/general/latest/gr/aws_tagging.html, linked from SageMaker's ``Tag``); SageMaker's exact
  message is not documented, so the wording is the sandbox's.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceInUseException
from moto.sagemaker.models import FeatureGroup
from moto.sagemaker.utils import arn_formatter

from . import auth, search_index, state
from ._common import (
    AccessDeniedException,
    ResourceNotFound,
    check_max_results,
    descending,
    make_matcher,
    paginate,
    paginate_after,
    sort_key_for,
    to_naive_utc,
    validation,
)

FEATURE_DEFINITIONS_PAGE_SIZE = 1000
MAX_FEATURES = 2500
_NAME_RE = re.compile(r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$")
_FG_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):feature-group/(.+)$")

FEATURE_GROUP_SEARCH_FIELDS = [
    "FeatureGroupArn",
    "FeatureGroupName",
    "RecordIdentifierFeatureName",
    "EventTimeFeatureName",
    "FeatureDefinitions",
    "CreationTime",
    "LastModifiedTime",
    "OnlineStoreConfig",
    "OfflineStoreConfig",
    "RoleArn",
    "FeatureGroupStatus",
    "OfflineStoreStatus",
    "LastUpdateStatus",
    "FailureReason",
    "Description",
    "Tags",
]
FEATURE_METADATA_SEARCH_FIELDS = [
    "FeatureGroupArn",
    "FeatureGroupName",
    "FeatureName",
    "FeatureType",
    "CreationTime",
    "LastModifiedTime",
    "Description",
    "Parameters",
]
_SORT_ALIASES = {"Name": None}  # resolved per resource below


def _not_found(name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name {name}")


class PantryFeatureGroup(FeatureGroup):
    """moto's FeatureGroup plus description, online store, timestamps and feature metadata."""

    def __init__(
        self,
        region_name: str,
        account_id: str,
        feature_group_name: str,
        record_identifier_feature_name: str,
        event_time_feature_name: str,
        feature_definitions: list[dict[str, Any]],
        offline_store_config: dict[str, Any] | None,
        role_arn: str | None,
        tags: list[dict[str, str]] | None = None,
        online_store_config: dict[str, Any] | None = None,
        description: str | None = None,
        throughput_config: dict[str, Any] | None = None,
    ) -> None:
        # moto's base class requires an offline store; give it a throwaway one and fix up after.
        super().__init__(
            region_name=region_name,
            account_id=account_id,
            feature_group_name=feature_group_name,
            record_identifier_feature_name=record_identifier_feature_name,
            event_time_feature_name=event_time_feature_name,
            feature_definitions=[dict(d) for d in feature_definitions],
            offline_store_config={"S3StorageConfig": {"S3Uri": "s3://placeholder"}},
            role_arn=role_arn,  # type: ignore[arg-type]
            tags=list(tags or []),
        )
        self.account_id = account_id
        self.region_name = region_name
        stamp = int(self.creation_time.timestamp())
        self.offline_store_config = None
        if offline_store_config:
            cfg = copy.deepcopy(offline_store_config)
            s3 = cfg.setdefault("S3StorageConfig", {})
            uri = s3.get("S3Uri", "").rstrip("/")
            s3["ResolvedOutputS3Uri"] = (
                f"{uri}/{account_id}/sagemaker/{region_name}/offline-store/{feature_group_name}-{stamp}/data"
            )
            if not cfg.get("DisableGlueTableCreation") or "DataCatalogConfig" not in cfg:
                cfg["DataCatalogConfig"] = {
                    "TableName": f"{feature_group_name.replace('-', '_')}_{stamp}".lower(),
                    "Catalog": "AwsDataCatalog",
                    "Database": "sagemaker_featurestore",
                }
            cfg.setdefault("DisableGlueTableCreation", False)
            self.offline_store_config = cfg
        self.online_store_config = copy.deepcopy(online_store_config) if online_store_config else None
        self.description = description
        self.throughput_config = throughput_config or {"ThroughputMode": "OnDemand"}
        self.last_modified_time = self.creation_time
        self.status = "Created"
        self.last_update_status: dict[str, Any] | None = None
        self.feature_metadata: dict[str, dict[str, Any]] = {}
        for definition in self.feature_definitions:
            self._init_metadata(definition["FeatureName"], self.creation_time)

    def _init_metadata(self, feature_name: str, when: Any) -> None:
        self.feature_metadata[feature_name] = {
            "CreationTime": when,
            "LastModifiedTime": when,
            "Description": None,
            "Parameters": {},
        }

    def touch(self) -> None:
        self.last_modified_time = utcnow()

    # ------------------------------------------------------------------ views
    def _common(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "FeatureGroupArn": self.arn,
            "FeatureGroupName": self.feature_group_name,
            "RecordIdentifierFeatureName": self.record_identifier_feature_name,
            "EventTimeFeatureName": self.event_time_feature_name,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "RoleArn": self.role_arn,
            "FeatureGroupStatus": self.status,
        }
        if self.online_store_config:
            out["OnlineStoreConfig"] = copy.deepcopy(self.online_store_config)
        if self.offline_store_config:
            out["OfflineStoreConfig"] = copy.deepcopy(self.offline_store_config)
            out["OfflineStoreStatus"] = {"Status": "Active"}
        if self.last_update_status:
            out["LastUpdateStatus"] = dict(self.last_update_status)
        if self.description is not None:
            out["Description"] = self.description
        return {k: v for k, v in out.items() if v is not None}

    def describe(self, next_token: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        out = self._common()
        page, token = paginate(self.feature_definitions, FEATURE_DEFINITIONS_PAGE_SIZE, next_token, "dfg:" + self.arn)
        out["FeatureDefinitions"] = copy.deepcopy(page)
        out["ThroughputConfig"] = dict(self.throughput_config)
        # AWS's model makes NextToken required here; the last page carries "".
        out["NextToken"] = token or ""
        return out

    def gen_response_object(self, *, with_tags: bool = True) -> dict[str, Any]:
        """The ``SearchRecord.FeatureGroup`` shape (no ``Tags`` for a group found cross-account)."""
        out = self._common()
        out["FeatureDefinitions"] = copy.deepcopy(self.feature_definitions)
        if with_tags:
            out["Tags"] = [dict(t) for t in self.tags or []]
        return out

    def summary(self) -> dict[str, Any]:
        out = {
            "FeatureGroupName": self.feature_group_name,
            "FeatureGroupArn": self.arn,
            "CreationTime": self.creation_time,
            "FeatureGroupStatus": self.status,
        }
        if self.offline_store_config:
            out["OfflineStoreStatus"] = {"Status": "Active"}
        return out

    def feature_type(self, feature_name: str) -> str:
        for d in self.feature_definitions:
            if d["FeatureName"] == feature_name:
                return d["FeatureType"]
        raise KeyError(feature_name)

    def metadata_view(self, feature_name: str, feature_type: str | None = None) -> dict[str, Any]:
        meta = self.feature_metadata[feature_name]
        out = {
            "FeatureGroupArn": self.arn,
            "FeatureGroupName": self.feature_group_name,
            "FeatureName": feature_name,
            "FeatureType": feature_type or self.feature_type(feature_name),
            "CreationTime": meta["CreationTime"],
            "LastModifiedTime": meta["LastModifiedTime"],
            "Parameters": [{"Key": k, "Value": v} for k, v in meta["Parameters"].items()],
        }
        if meta["Description"] is not None:
            out["Description"] = meta["Description"]
        return out

    def searchable_metadata_views(self) -> list[dict[str, Any]]:
        """What Search has indexed: an edit made under a search lag shows its previous version until then."""
        now = utcnow()
        views = []
        for d in self.feature_definitions:
            meta = self.feature_metadata[d["FeatureName"]]
            if meta.get("searchable_at") and now < meta["searchable_at"]:
                views.append(copy.deepcopy(meta["indexed_view"]))
            else:
                meta.pop("searchable_at", None)
                meta.pop("indexed_view", None)
                views.append(self.metadata_view(d["FeatureName"], d["FeatureType"]))
        return views

    def flush_search_index(self) -> None:
        for meta in self.feature_metadata.values():
            meta.pop("searchable_at", None)
            meta.pop("indexed_view", None)


def _validate_definitions(definitions: list[dict[str, Any]], online: dict[str, Any] | None) -> None:
    if not definitions:
        raise validation("FeatureDefinitions must contain at least one feature.")
    if len(definitions) > MAX_FEATURES:
        raise validation(
            f"1 validation error detected: Value at 'featureDefinitions' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_FEATURES}"
        )
    seen: set[str] = set()
    for d in definitions:
        name = d.get("FeatureName", "")
        if name.lower() in seen:
            raise validation(f"Feature name {name} is duplicated.")
        seen.add(name.lower())
        if d.get("FeatureType") not in ("String", "Integral", "Fractional"):
            raise validation(f"Invalid FeatureType for feature {name}.")
        if d.get("CollectionType") and not (online and online.get("EnableOnlineStore")):
            raise validation(
                f"Feature {name} has a CollectionType; collection types are only supported "
                "for feature groups with an online store."
            )


def _refuse_reserved_tag_keys(tags: Any) -> None:
    """AWS keeps tag keys starting with ``aws:`` (in any case) for its own use: a caller may not add them."""
    for tag in tags or []:
        key = tag.get("Key") if isinstance(tag, dict) else None
        if isinstance(key, str) and key[:4].lower() == "aws:":
            raise validation(
                f"Invalid tag key '{key}': the prefix 'aws:' is reserved for AWS use and cannot begin a tag key."
            )


class FeatureStoreBackendMixin:
    """Feature Store operations for ``SageMakerModelBackend`` (mixed in, moto style)."""

    account_id: str
    region_name: str
    feature_groups: dict[str, PantryFeatureGroup]

    # ------------------------------------------------------------------ lookup
    def _fg_arn(self, name: str) -> str:
        return arn_formatter(
            region_name=self.region_name,
            account_id=self.account_id,
            _type="feature-group",
            _id=name.lower(),
        )

    def get_feature_group(
        self, name_or_arn: str, needed: str = state.READ_ONLY, action: str = "DescribeFeatureGroup"
    ) -> PantryFeatureGroup:
        match = _FG_ARN_RE.match(name_or_arn or "")
        if match:
            region, account, name = match.groups()
            if (account, region) != (self.account_id, self.region_name):
                from moto.sagemaker.models import sagemaker_backends

                arn = f"arn:aws:sagemaker:{region}:{account}:feature-group/{name.lower()}"
                if not state.has_access(arn, self.account_id, needed):
                    raise AccessDeniedException(
                        f"User: {auth.request_caller_arn(self.account_id)} is not "
                        f"authorized to perform: sagemaker:{action} on resource: {arn} because "
                        "no resource-based policy allows the "
                        f"sagemaker:{action} action"
                    )
                other = sagemaker_backends[account][region]
                fg = other.feature_groups.get(arn)
                if fg is None:
                    raise _not_found(name)
                return fg
        else:
            name = name_or_arn or ""
        fg = self.feature_groups.get(self._fg_arn(name))
        if fg is None:
            raise _not_found(name)
        return fg

    # ------------------------------------------------------------------ CRUD
    def create_feature_group(  # type: ignore[override]
        self,
        feature_group_name: str,
        record_identifier_feature_name: str,
        event_time_feature_name: str,
        feature_definitions: list[dict[str, Any]],
        offline_store_config: dict[str, Any] | None,
        role_arn: str | None,
        tags: Any,
        online_store_config: dict[str, Any] | None = None,
        description: str | None = None,
        throughput_config: dict[str, Any] | None = None,
    ) -> str:
        if not _NAME_RE.match(feature_group_name or ""):
            raise validation(
                f"1 validation error detected: Value '{feature_group_name}' at "
                "'featureGroupName' failed to satisfy constraint: Member must satisfy regular "
                "expression pattern: ^[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}"
            )
        arn = self._fg_arn(feature_group_name)
        if arn in self.feature_groups:
            raise ResourceInUseException(
                message=f"Resource Already Exists: FeatureGroup with name {feature_group_name} "
                f"already exists. Choose a different name.\nInfo: Feature Group "
                f"'{feature_group_name}' already exists."
            )
        if not (offline_store_config or (online_store_config or {}).get("EnableOnlineStore")):
            raise validation(
                "Invalid request: at least one of OnlineStoreConfig (enabled) and OfflineStoreConfig must be provided."
            )
        _validate_definitions(feature_definitions, online_store_config)
        _refuse_reserved_tag_keys(tags)
        names = {d["FeatureName"] for d in feature_definitions}
        for label, feature in (
            ("RecordIdentifierFeatureName", record_identifier_feature_name),
            ("EventTimeFeatureName", event_time_feature_name),
        ):
            if feature not in names:
                raise validation(f"The {label} '{feature}' must be one of the FeatureDefinitions.")
        fg = PantryFeatureGroup(
            region_name=self.region_name,
            account_id=self.account_id,
            feature_group_name=feature_group_name,
            record_identifier_feature_name=record_identifier_feature_name,
            event_time_feature_name=event_time_feature_name,
            feature_definitions=feature_definitions,
            offline_store_config=offline_store_config,
            role_arn=role_arn,
            tags=tags,
            online_store_config=online_store_config,
            description=description,
            throughput_config=throughput_config,
        )
        self.feature_groups[fg.arn] = fg
        hook = getattr(self, "_on_feature_group_created", None)
        if hook:
            hook(fg)
        return fg.arn

    def describe_feature_group(  # type: ignore[override]
        self, feature_group_name: str, next_token: str | None = None
    ) -> dict[str, Any]:
        return self.get_feature_group(feature_group_name).describe(next_token)

    def delete_feature_group(self, feature_group_name: str) -> None:
        fg = self.get_feature_group(feature_group_name, state.ADMIN, "DeleteFeatureGroup")
        if fg.account_id != self.account_id:
            raise AccessDeniedException("Only the owner account can delete a feature group.")
        del self.feature_groups[fg.arn]
        hook = getattr(self, "_on_feature_group_deleted", None)
        if hook:
            hook(fg)

    def list_feature_groups(
        self,
        name_contains: str | None = None,
        status_equals: str | None = None,
        offline_status_equals: str | None = None,
        created_after: Any = None,
        created_before: Any = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        max_results: Any = None,
        next_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        max_results = check_max_results(max_results)
        items = list(self.feature_groups.values())
        if name_contains:
            items = [f for f in items if name_contains.lower() in f.feature_group_name.lower()]
        if status_equals:
            items = [f for f in items if f.status == status_equals]
        if offline_status_equals:
            items = [f for f in items if f.offline_store_config and offline_status_equals == "Active"]
        if created_after:
            items = [f for f in items if f.creation_time > to_naive_utc(created_after)]
        if created_before:
            items = [f for f in items if f.creation_time < to_naive_utc(created_before)]
        keys = {
            "Name": lambda f: f.feature_group_name.lower(),
            "FeatureGroupStatus": lambda f: f.status,
            "OfflineStoreStatus": lambda f: "Active" if f.offline_store_config else "",
            "CreationTime": lambda f: f.creation_time,
        }
        sort_by = sort_by or "CreationTime"
        if sort_by not in keys:
            raise validation(f"Invalid SortBy: {sort_by}")
        reverse = descending(sort_order)
        items.sort(key=lambda f: f.arn, reverse=reverse)
        items.sort(key=keys[sort_by], reverse=reverse)
        # A token is good only for the query that made it (every filter and the order), as AWS's is.
        created = [to_naive_utc(value).isoformat() if value else "" for value in (created_after, created_before)]
        scope = (
            f"lfg:{name_contains}:{status_equals}:{offline_status_equals}:{':'.join(created)}:{sort_by}:{sort_order}"
        )
        page, token = paginate(items, max_results, next_token, scope)
        return [f.summary() for f in page], token

    def update_feature_group(
        self,
        feature_group_name: str,
        feature_additions: list[dict[str, Any]] | None = None,
        online_store_config: dict[str, Any] | None = None,
        throughput_config: dict[str, Any] | None = None,
    ) -> str:
        fg = self.get_feature_group(feature_group_name, state.ADMIN, "UpdateFeatureGroup")
        now = utcnow()
        if feature_additions:
            existing = {d["FeatureName"].lower() for d in fg.feature_definitions}
            if len(existing) + len(feature_additions) > MAX_FEATURES:
                raise validation(f"A feature group can have at most {MAX_FEATURES} features.")
            _validate_definitions(feature_additions, fg.online_store_config)
            for d in feature_additions:
                if d["FeatureName"].lower() in existing:
                    raise validation(
                        f"Feature {d['FeatureName']} already exists in feature group {fg.feature_group_name}."
                    )
            for d in feature_additions:
                fg.feature_definitions.append(dict(d))
                fg._init_metadata(d["FeatureName"], now)
        if online_store_config:
            if not fg.online_store_config:
                raise validation("The feature group has no online store to update.")
            if "TtlDuration" in online_store_config:
                fg.online_store_config["TtlDuration"] = online_store_config["TtlDuration"]
        if throughput_config:
            fg.throughput_config.update(throughput_config)
        fg.last_modified_time = now
        fg.last_update_status = {"Status": "Successful"}
        return fg.arn

    # ------------------------------------------------------------------ feature metadata
    def _feature(self, feature_group_name: str, feature_name: str, needed: str, action: str):
        fg = self.get_feature_group(feature_group_name, needed, action)
        if feature_name not in fg.feature_metadata:
            raise ResourceNotFound(
                f"Resource Not Found: Amazon SageMaker can't find a Feature with name "
                f"{feature_name} in FeatureGroup {fg.feature_group_name}"
            )
        return fg

    def describe_feature_metadata(self, feature_group_name: str, feature_name: str) -> dict:
        fg = self._feature(feature_group_name, feature_name, state.READ_ONLY, "DescribeFeatureMetadata")
        return fg.metadata_view(feature_name)

    def update_feature_metadata(
        self,
        feature_group_name: str,
        feature_name: str,
        description: str | None = None,
        parameter_additions: list[dict[str, str]] | None = None,
        parameter_removals: list[str] | None = None,
    ) -> None:
        fg = self._feature(feature_group_name, feature_name, state.ADMIN, "UpdateFeatureMetadata")
        meta = fg.feature_metadata[feature_name]
        lag = search_index.lag()
        if lag > 0:
            # Search keeps serving the version it indexed last until the lag passes.
            if not meta.get("searchable_at"):
                meta["indexed_view"] = fg.metadata_view(feature_name)
            meta["searchable_at"] = utcnow() + dt.timedelta(seconds=lag)
        if description is not None:
            meta["Description"] = description
        for p in parameter_additions or []:
            meta["Parameters"][p["Key"]] = p["Value"]
        for key in parameter_removals or []:
            meta["Parameters"].pop(key, None)
        meta["LastModifiedTime"] = utcnow()

    # ------------------------------------------------------------------ tags
    def _get_resource_from_arn(self, arn: str) -> Any:
        if ":feature-group/" in arn:
            return self.get_feature_group(arn, state.ADMIN, "AddTags")
        lineage = getattr(self, "_lineage_resource_from_arn", None)
        found = lineage(arn) if lineage else None
        if found is not None:
            return found
        return super()._get_resource_from_arn(arn)  # type: ignore[misc]

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        _refuse_reserved_tag_keys(tags)
        resource = self._get_resource_from_arn(arn)
        if resource.tags is None:
            resource.tags = []
        merged = {t["Key"]: t["Value"] for t in resource.tags}
        for t in tags or []:
            merged[t["Key"]] = t.get("Value", "")
        resource.tags = [{"Key": k, "Value": v} for k, v in merged.items()]
        if isinstance(resource, PantryFeatureGroup):
            resource.touch()
        return list(tags or [])

    def delete_tags(self, arn: str, tag_keys: list[str]) -> None:
        resource = self._get_resource_from_arn(arn)
        resource.tags = [t for t in resource.tags or [] if t["Key"] not in tag_keys]
        if isinstance(resource, PantryFeatureGroup):
            resource.touch()

    # ------------------------------------------------------------------ search
    def _search_feature_groups(self, cross_account: bool) -> list[PantryFeatureGroup]:
        """The caller's own groups, or (CrossAccount) only those other accounts made discoverable to it."""
        if not cross_account:
            return list(self.feature_groups.values())
        from moto.sagemaker.models import sagemaker_backends

        groups: list[PantryFeatureGroup] = []
        for owner in state.discoverable_owners(self.account_id, self.region_name):
            groups.extend(sagemaker_backends[owner][self.region_name].feature_groups.values())
        return groups

    def search_feature_store(
        self,
        resource: str,
        search_expression: dict | None,
        sort_by: str | None,
        sort_order: str | None,
        next_token: str | None,
        max_results: Any,
        cross_account_filter_option: str | None,
    ) -> dict[str, Any]:
        max_results = check_max_results(max_results)
        if cross_account_filter_option not in (None, "SameAccount", "CrossAccount"):
            raise validation(
                f"1 validation error detected: Value '{cross_account_filter_option}' at "
                "'crossAccountFilterOption' failed to satisfy constraint: Member must satisfy "
                "enum value set: [SameAccount, CrossAccount]"
            )
        cross_account = cross_account_filter_option == "CrossAccount"
        groups = self._search_feature_groups(cross_account)
        if resource == "FeatureGroup":
            docs = [fg.gen_response_object(with_tags=not cross_account) for fg in groups]
            fields, name_field = FEATURE_GROUP_SEARCH_FIELDS, "FeatureGroupName"
        else:
            docs = [m for fg in groups for m in fg.searchable_metadata_views()]
            fields, name_field = FEATURE_METADATA_SEARCH_FIELDS, "FeatureName"
        matcher = make_matcher(search_expression, fields)
        docs = [d for d in docs if matcher(d)]
        # AWS's defaults: "The default is LastModifiedTime" and "The default is Descending".
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Search.html
        sort_name = sort_by or "LastModifiedTime"
        if sort_name == "Name":
            sort_name = name_field
        if sort_name.split(".")[0] not in fields:
            raise validation(f"Unknown property name for SortBy: {sort_by}")
        if sort_order not in (None, "Ascending", "Descending"):
            raise validation(f"Invalid SortOrder: {sort_order}")
        descending = (sort_order or "Descending") == "Descending"
        by_value = sort_key_for(sort_name)

        def key(doc: dict) -> tuple:
            return (by_value(doc), doc["FeatureGroupArn"], doc.get("FeatureName", ""))

        keyed = sorted(((key(d), d) for d in docs), key=lambda pair: pair[0], reverse=descending)
        docs, keys = [d for _, d in keyed], [k for k, _ in keyed]
        expression = json.dumps(search_expression or {}, sort_keys=True, default=str)
        scope = f"search:{resource}:{sort_name}:{descending}:{cross_account_filter_option}:{expression}"
        page, token = paginate_after(docs, keys, max_results, next_token, scope, descending=descending)
        out: dict[str, Any] = {
            "Results": [{resource: d} for d in page],
            "TotalHits": {"Value": len(docs), "Relation": "EqualTo"},
        }
        if token:
            out["NextToken"] = token
        return out

    def search(self, resource: Any = None, search_expression: Any = None, **kwargs: Any) -> Any:
        if resource in ("FeatureGroup", "FeatureMetadata"):
            return self.search_feature_store(
                resource,
                search_expression,
                kwargs.get("sort_by"),
                kwargs.get("sort_order"),
                kwargs.get("next_token"),
                kwargs.get("max_results"),
                kwargs.get("cross_account_filter_option"),
            )
        return super().search(resource=resource, search_expression=search_expression)  # type: ignore[misc]


class FeatureStoreResponseMixin:
    """Handlers patched onto moto's ``SageMakerResponse``."""

    def create_feature_group(self) -> ActionResult:
        arn = self.sagemaker_backend.create_feature_group(
            feature_group_name=self._get_param("FeatureGroupName"),
            record_identifier_feature_name=self._get_param("RecordIdentifierFeatureName"),
            event_time_feature_name=self._get_param("EventTimeFeatureName"),
            feature_definitions=self._get_param("FeatureDefinitions") or [],
            offline_store_config=self._get_param("OfflineStoreConfig"),
            role_arn=self._get_param("RoleArn"),
            tags=self._get_param("Tags"),
            online_store_config=self._get_param("OnlineStoreConfig"),
            description=self._get_param("Description"),
            throughput_config=self._get_param("ThroughputConfig"),
        )
        return ActionResult({"FeatureGroupArn": arn})

    def describe_feature_group(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.describe_feature_group(
                feature_group_name=self._get_param("FeatureGroupName"),
                next_token=self._get_param("NextToken"),
            )
        )

    def delete_feature_group(self) -> ActionResult:
        self.sagemaker_backend.delete_feature_group(self._get_param("FeatureGroupName"))
        return EmptyResult()

    def list_feature_groups(self) -> ActionResult:
        summaries, token = self.sagemaker_backend.list_feature_groups(
            name_contains=self._get_param("NameContains"),
            status_equals=self._get_param("FeatureGroupStatusEquals"),
            offline_status_equals=self._get_param("OfflineStoreStatusEquals"),
            created_after=self._get_param("CreationTimeAfter"),
            created_before=self._get_param("CreationTimeBefore"),
            sort_by=self._get_param("SortBy"),
            sort_order=self._get_param("SortOrder"),
            max_results=self._get_param("MaxResults"),
            next_token=self._get_param("NextToken"),
        )
        out: dict[str, Any] = {"FeatureGroupSummaries": summaries}
        if token:
            out["NextToken"] = token
        return ActionResult(out)

    def update_feature_group(self) -> ActionResult:
        arn = self.sagemaker_backend.update_feature_group(
            feature_group_name=self._get_param("FeatureGroupName"),
            feature_additions=self._get_param("FeatureAdditions"),
            online_store_config=self._get_param("OnlineStoreConfig"),
            throughput_config=self._get_param("ThroughputConfig"),
        )
        return ActionResult({"FeatureGroupArn": arn})

    def describe_feature_metadata(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.describe_feature_metadata(
                self._get_param("FeatureGroupName"), self._get_param("FeatureName")
            )
        )

    def update_feature_metadata(self) -> ActionResult:
        self.sagemaker_backend.update_feature_metadata(
            feature_group_name=self._get_param("FeatureGroupName"),
            feature_name=self._get_param("FeatureName"),
            description=self._get_param("Description"),
            parameter_additions=self._get_param("ParameterAdditions"),
            parameter_removals=self._get_param("ParameterRemovals"),
        )
        return EmptyResult()

    def search(self) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.search(
                resource=self._get_param("Resource"),
                search_expression=self._get_param("SearchExpression"),
                sort_by=self._get_param("SortBy"),
                sort_order=self._get_param("SortOrder"),
                next_token=self._get_param("NextToken"),
                max_results=self._get_param("MaxResults"),
                cross_account_filter_option=self._get_param("CrossAccountFilterOption"),
            )
        )

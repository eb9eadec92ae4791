"""CloudTrail control-plane fidelity on top of moto 5's CloudTrail backend.

What moto lacks and the sandbox adds (each as AWS documents it):

* ``CreateTrail`` / ``UpdateTrail``: the bucket may live in another account (the usual
  log-archive account) but its bucket policy must let ``cloudtrail.amazonaws.com`` call
  ``s3:GetBucketAcl`` and ``s3:PutObject`` under ``[prefix/]AWSLogs/…`` for this trail
  (``InsufficientS3BucketPolicyException`` otherwise); a trail name is unique per account and
  region (``TrailAlreadyExistsException``); ``IsOrganizationTrail`` needs an organisation
  whose management account is the caller (``OrganizationsNotInUseException`` /
  ``NotOrganizationMasterAccountException``).
* ``PutEventSelectors``: advanced selectors are validated (``InvalidEventSelectorsException``);
  ``DescribeTrails`` / ``GetTrail`` report ``HasCustomEventSelectors``.
* ``GetTrailStatus``: ``LatestDeliveryTime`` is the sandbox's last delivery, not "now".
* ``ListPublicKeys``: the public key whose private key signs the digest files.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
from typing import Any

from moto.cloudtrail import models as ct_models
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError

from .selectors import validate_advanced

_applied = False


class _Error(JsonRESTError):
    code = 400

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _organization(account_id: str) -> tuple[str | None, bool]:
    """``(organization id, caller is its management account)``."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[account_id]["aws"]
    if backend.org is not None:
        return backend.org.id, True
    master = organizations_backends.master_accounts.get(account_id)
    if master:
        org = organizations_backends[master[0]][master[1]].org
        return (org.id if org else None), False
    return None, False


def bucket_policy_allows(bucket_name: str, prefix: str | None, paths: list[str]) -> bool:
    """Does the bucket policy let CloudTrail check the ACL and write every path in ``paths``?"""
    from moto.s3.models import s3_backends

    located = s3_backends.bucket_accounts.get(bucket_name)
    if not located:
        return False
    bucket = s3_backends[located[1]][located[0]].buckets.get(bucket_name)
    if bucket is None or not bucket.policy:
        return False
    try:
        policy = json.loads(bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy)
    except ValueError:
        return False
    acl_ok, writes = False, set()
    for statement in _as_list(policy.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if "cloudtrail.amazonaws.com" not in services and principal != "*":
            continue
        actions = {a.lower() for a in _as_list(statement.get("Action"))}
        resources = _as_list(statement.get("Resource"))
        if actions & {"s3:getbucketacl", "s3:*", "*"} and any(
            fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket_name}", r) for r in resources
        ):
            acl_ok = True
        if actions & {"s3:putobject", "s3:*", "*"}:
            head = f"{prefix.strip('/')}/" if prefix else ""
            for path in paths:
                if any(fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket_name}/{head}{path}", r) for r in resources):
                    writes.add(path)
    return acl_ok and writes == set(paths)


def _check_trail(backend: Any, trail: Any) -> None:
    paths = [f"AWSLogs/{trail.account_id}/CloudTrail/x.json.gz"]
    if trail.is_org_trail:
        org_id, is_management = _organization(trail.account_id)
        if org_id is None:
            raise _Error(
                "OrganizationsNotInUseException",
                "This account is not a member of an organization; organization trails need AWS Organizations.",
            )
        if not is_management:
            raise _Error(
                "NotOrganizationMasterAccountException",
                "The request was rejected because the account is not the management account of the organization.",
            )
        paths.append(f"AWSLogs/{org_id}/{trail.account_id}/CloudTrail/x.json.gz")
    if not bucket_policy_allows(trail.bucket_name, trail.s3_key_prefix, paths):
        raise _Error(
            "InsufficientS3BucketPolicyException",
            f"Incorrect S3 bucket policy is detected for bucket: {trail.bucket_name}",
        )


_original_create = ct_models.CloudTrailBackend.create_trail
_original_update = ct_models.CloudTrailBackend.update_trail
_original_put_selectors = ct_models.CloudTrailBackend.put_event_selectors
_original_description = ct_models.Trail.description
_original_status_description = ct_models.TrailStatus.description


def create_trail(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    if name in self.trails:
        raise _Error(
            "TrailAlreadyExistsException",
            f"Trail {name} already exists for customer: {self.account_id}",
        )
    trail = _original_create(self, name, *args, **kwargs)
    try:
        _check_trail(self, trail)
    except _Error:
        self.trails.pop(name, None)
        raise
    return trail


def update_trail(self: Any, *args: Any, **kwargs: Any) -> Any:
    trail = _original_update(self, *args, **kwargs)
    _check_trail(self, trail)
    return trail


def put_event_selectors(self: Any, trail_name: str, event_selectors: Any, advanced_event_selectors: Any) -> Any:
    if event_selectors and advanced_event_selectors:
        raise _Error(
            "InvalidParameterCombinationException", "You cannot apply both EventSelectors and AdvancedEventSelectors."
        )
    try:
        validate_advanced(advanced_event_selectors or [])
    except ValueError as exc:
        raise _Error("InvalidEventSelectorsException", str(exc)) from None
    trail = self.get_trail(trail_name)
    if event_selectors:
        trail.advanced_event_selectors = []
    return _original_put_selectors(self, trail_name, event_selectors, advanced_event_selectors)


def trail_description(self: Any, include_region: bool = False) -> dict[str, Any]:
    desc = _original_description(self, include_region)
    desc["HasCustomEventSelectors"] = bool(self.event_selectors or self.advanced_event_selectors)
    desc["HasInsightSelectors"] = bool(self.insight_selectors)
    desc["HomeRegion"] = self.region_name
    return desc


def status_description(self: Any) -> dict[str, Any]:
    delivered, attempt = self.latest_delivery_time, self.latest_delivery_attempt
    desc = _original_status_description(self)
    if getattr(self, "sandbox_delivered", False):
        self.latest_delivery_time, self.latest_delivery_attempt = delivered, attempt
        desc["LatestDeliveryTime"] = delivered
        desc["LatestDeliveryAttemptTime"] = attempt
        desc["LatestDeliveryAttemptSucceeded"] = attempt
    return desc


def list_public_keys(self: CloudTrailResponse) -> str:
    from .delivery import public_key_der, public_key_fingerprint

    now = dt.datetime.now(dt.UTC)
    return json.dumps(
        {
            "PublicKeyList": [
                {
                    "Value": base64.b64encode(public_key_der()).decode(),
                    "ValidityStartTime": (now - dt.timedelta(days=30)).timestamp(),
                    "ValidityEndTime": (now + dt.timedelta(days=30)).timestamp(),
                    "Fingerprint": public_key_fingerprint(),
                }
            ]
        }
    )


def apply() -> None:
    global _applied
    if _applied:
        return
    ct_models.CloudTrailBackend.create_trail = create_trail  # type: ignore[method-assign]
    ct_models.CloudTrailBackend.update_trail = update_trail  # type: ignore[method-assign]
    ct_models.CloudTrailBackend.put_event_selectors = put_event_selectors  # type: ignore[method-assign]
    ct_models.Trail.description = trail_description  # type: ignore[method-assign]
    ct_models.TrailStatus.description = status_description  # type: ignore[method-assign]
    CloudTrailResponse.list_public_keys = list_public_keys  # type: ignore[attr-defined]
    _applied = True

"""Tiny stdlib client for the sandbox control plane (``/_sandbox/...``). No boto3."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Iterable
from typing import Any


def _call(endpoint_url: str, method: str, route: str, payload: dict | None = None, timeout: float = 10) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        f"{endpoint_url.rstrip('/')}/_sandbox/{route}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 -- loopback
        return json.loads(response.read() or b"null")


def health(endpoint_url: str) -> dict:
    return _call(endpoint_url, "GET", "health")


def reset(endpoint_url: str) -> dict:
    """Reset every moto backend plus sandbox faults / discoverability / access state."""
    return _call(endpoint_url, "POST", "reset", {})


def inject_fault(
    endpoint_url: str,
    error_code: str = "ThrottlingException",
    service: str | None = "sagemaker",
    operation: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    status: int = 400,
    count: int = 1,
    message: str | None = None,
) -> dict:
    """Make the next ``count`` matching requests fail (``count=-1``: forever).

    ``service`` is the SigV4 signing name (sagemaker, sts, iam, s3, ram, ...); ``operation`` the
    API name (``Search``). ``None`` matches anything. Returns the stored fault (with ``id``).
    """
    return _call(
        endpoint_url,
        "POST",
        "faults",
        {
            "error_code": error_code,
            "service": service,
            "operation": operation,
            "account_id": account_id,
            "region": region,
            "status": status,
            "count": count,
            "message": message,
        },
    )


def list_faults(endpoint_url: str) -> list[dict]:
    return _call(endpoint_url, "GET", "faults")["faults"]


def clear_faults(endpoint_url: str) -> None:
    _call(endpoint_url, "DELETE", "faults")


def set_discoverable(endpoint_url: str, owner_account: str, region: str, consumer_accounts: Iterable[str]) -> dict:
    """Replace which consumer accounts can discover ``owner_account``'s catalogue in ``region``.

    The sandbox makes (or updates) a RAM share of the catalog on the owner's behalf and accepts
    the consumers' invitations, so the access is real RAM state.
    """
    return _call(
        endpoint_url,
        "POST",
        "discoverable",
        {"owner_account": owner_account, "region": region, "consumer_accounts": list(consumer_accounts)},
    )


def get_state(endpoint_url: str) -> dict:
    """Cross-account grants in effect now, derived from RAM: ``discoverable`` and ``feature_group_access``."""
    return _call(endpoint_url, "GET", "discoverable")


def set_feature_group_access(endpoint_url: str, arn: str, consumer_account: str, permission: str | None) -> dict:
    """Grant ``ReadOnly`` / ``ReadWrite`` / ``Admin`` on one feature group (``None`` revokes).

    Done as a RAM share made on the owner's behalf, with the invitation accepted for the consumer.
    """
    return _call(
        endpoint_url,
        "POST",
        "feature-group-access",
        {"arn": arn, "consumer_account": consumer_account, "permission": permission},
    )


def get_clock(endpoint_url: str) -> dict:
    """``{"now": ISO 8601, "offset_seconds": float}``: the time RAM invitation expiry uses."""
    return _call(endpoint_url, "GET", "clock")


def move_clock(
    endpoint_url: str,
    *,
    advance: float | dt.timedelta | None = None,
    offset: float | dt.timedelta | None = None,
    now: dt.datetime | str | None = None,
) -> dict:
    """Move the sandbox clock: ``advance`` it by some time, set its ``offset`` from real time, or
    make it read ``now``. Exactly one of them. The clock keeps ticking afterwards."""
    given = {k: v for k, v in {"advance": advance, "offset": offset, "now": now}.items() if v is not None}
    if len(given) != 1:
        raise ValueError("give exactly one of advance, offset or now")
    ((key, value),) = given.items()
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    field = {"advance": "advance_seconds", "offset": "offset_seconds", "now": "now"}[key]
    return _call(endpoint_url, "POST", "clock", {field: value})


def reset_clock(endpoint_url: str) -> dict:
    return _call(endpoint_url, "DELETE", "clock")


# --------------------------------------------------------------------------- CloudTrail
# Routes are described in sandbox.cloudtrail.control; times are ISO 8601 strings (UTC).


def cloudtrail_status(endpoint_url: str) -> dict:
    return _call(endpoint_url, "GET", "cloudtrail")


def cloudtrail_history(
    endpoint_url: str,
    manifest: dict,
    *,
    days: int = 60,
    now: str | None = None,
    seed: int | None = None,
    digest_hours: int = 48,
    timeout: float = 600,
) -> dict:
    """Seed ``days`` of CloudTrail history for the manifest's organisation (trails must exist)."""
    payload: dict[str, Any] = {"manifest": manifest, "days": days, "digest_hours": digest_hours}
    if now:
        payload["now"] = now
    if seed is not None:
        payload["seed"] = seed
    return _call(endpoint_url, "POST", "cloudtrail/history", payload, timeout=timeout)


def cloudtrail_live(
    endpoint_url: str, *, enabled: bool = True, interval_seconds: float | None = None, manifest: dict | None = None
) -> dict:
    payload: dict[str, Any] = {"enabled": enabled}
    if interval_seconds is not None:
        payload["interval_seconds"] = interval_seconds
    if manifest is not None:
        payload["manifest"] = manifest
    return _call(endpoint_url, "POST", "cloudtrail/live", payload)


def cloudtrail_tick(endpoint_url: str, *, now: str | None = None) -> dict:
    """One live round (consumers' reads etc.) plus delivery of everything pending."""
    return _call(endpoint_url, "POST", "cloudtrail/tick", {"now": now} if now else {}, timeout=60)


def cloudtrail_flush(endpoint_url: str) -> dict:
    """Deliver recorded real calls and held-back (late) files now."""
    return _call(endpoint_url, "POST", "cloudtrail/flush", {}, timeout=60)


def cloudtrail_events(endpoint_url: str, calls: list[dict], *, delivered_at: str | None = None) -> dict:
    """Deliver exact calls (see sandbox.cloudtrail.service.call_from_spec) through the trails."""
    payload: dict[str, Any] = {"calls": calls}
    if delivered_at:
        payload["delivered_at"] = delivered_at
    return _call(endpoint_url, "POST", "cloudtrail/events", payload, timeout=60)


def cloudtrail_file(
    endpoint_url: str,
    records: list[dict],
    *,
    trail: str | None = None,
    account: str | None = None,
    region: str | None = None,
    delivered_at: str | None = None,
) -> dict:
    """Write exactly these records as one log file (e.g. a late file: an earlier ``delivered_at``)."""
    payload = {"records": records, "trail": trail, "account": account, "region": region, "delivered_at": delivered_at}
    return _call(endpoint_url, "POST", "cloudtrail/files", payload, timeout=60)


def cloudtrail_bad_file(
    endpoint_url: str,
    kind: str,
    *,
    trail: str | None = None,
    account: str | None = None,
    region: str | None = None,
    delivered_at: str | None = None,
    size_mb: int | None = None,
    feature_group_arn: str | None = None,
) -> dict:
    """Write a broken or awkward log file at a real CloudTrail key; see ``cloudtrail/badfiles.py``
    for the kinds (corrupt-gzip, truncated-gzip, not-gzip, empty, invalid-json, no-records,
    records-not-list, missing-fields, unknown-feature-group, nul-bytes, deep-nesting, huge)."""
    payload: dict[str, Any] = {
        "kind": kind,
        "trail": trail,
        "account": account,
        "region": region,
        "delivered_at": delivered_at,
        "feature_group_arn": feature_group_arn,
    }
    if size_mb is not None:
        payload["size_mb"] = size_mb
    return _call(endpoint_url, "POST", "cloudtrail/bad-files", payload, timeout=600)


def cloudtrail_synth(endpoint_url: str, params: dict, *, processes: int = 2, timeout: float = 3600) -> dict:
    """Write synthetic CloudTrail files inside the sandbox (see ``python -m sandbox cloudtrail-synth``)."""
    return _call(endpoint_url, "POST", "cloudtrail/synth", {"params": params, "processes": processes}, timeout=timeout)


def add_latency(
    endpoint_url: str,
    seconds: float,
    service: str | None = "sagemaker",
    operation: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    count: int = -1,
) -> dict:
    """Make the next ``count`` matching requests wait ``seconds`` (≤ 60) before AWS answers them."""
    return _call(
        endpoint_url,
        "POST",
        "faults",
        {
            "delay_seconds": seconds,
            "service": service,
            "operation": operation,
            "account_id": account_id,
            "region": region,
            "count": count,
        },
    )


def expire_sessions(endpoint_url: str, *, role_arn: str | None = None, access_key_id: str | None = None) -> int:
    """Expire STS sessions now: one by access key, every session of a role, or (neither) all.

    Requests signed with them fail as AWS fails an expired session (``ExpiredToken`` on STS/IAM,
    ``ExpiredTokenException`` on SageMaker, …); a new AssumeRole gets a working session.
    Returns how many sessions were expired.
    """
    payload = {"access_key_id": access_key_id} if access_key_id else {"role_arn": role_arn}
    return _call(endpoint_url, "POST", "sessions/expire", payload)["expired"]


def set_search_lag(endpoint_url: str, seconds: float) -> None:
    """Feature metadata edited from now on stays searchable in its old version for ``seconds``."""
    _call(endpoint_url, "POST", "search-lag", {"seconds": seconds})


def flush_search_index(endpoint_url: str) -> None:
    """Make every edit still waiting out the search lag searchable now."""
    _call(endpoint_url, "POST", "search-lag/flush", {})

"""Sandbox-only shared state that is not owned by any moto backend.

* ``discoverable_catalogs[(owner_account, region)] = {consumer_account, ...}`` -- which
  consumer accounts may find the owner's feature groups through
  ``Search(CrossAccountFilterOption="CrossAccount")``. A later RAM extension fills it; tests
  and the seed fill it through :func:`set_discoverable` (or ``POST /_sandbox/discoverable``).
* ``feature_group_access[feature_group_arn] = {consumer_account: permission}`` -- which other
  accounts may call DescribeFeatureGroup / DescribeFeatureMetadata (read) or
  UpdateFeatureMetadata / UpdateFeatureGroup (admin) with the group's ARN.

* ``search_lag_seconds`` -- Search's indexing lag: feature metadata edited while it is above
  zero stays searchable in its previous version for that long (``POST /_sandbox/search-lag``).
* ``expired_access_keys`` -- STS sessions expired on demand (``POST /_sandbox/sessions/expire``).

Everything here is cleared by :func:`reset` (called by ``POST /_sandbox/reset``).
"""

from __future__ import annotations

import threading

_lock = threading.RLock()


class ControlError(ValueError):
    """A control-plane request the sandbox cannot carry out; the message is shown as is."""


discoverable_catalogs: dict[tuple[str, str], set[str]] = {}
feature_group_access: dict[str, dict[str, str]] = {}
_search_lag_seconds = 0.0
expired_access_keys: set[str] = set()

READ_ONLY = "ReadOnly"
READ_WRITE = "ReadWrite"
ADMIN = "Admin"
_LEVELS = {READ_ONLY: 1, READ_WRITE: 2, ADMIN: 3}


def set_discoverable(owner_account: str, region: str, consumer_accounts) -> None:
    """Replace the consumer set of ``(owner_account, region)``'s catalog."""
    with _lock:
        consumers = {str(a) for a in consumer_accounts}
        if consumers:
            discoverable_catalogs[(str(owner_account), region)] = consumers
        else:
            discoverable_catalogs.pop((str(owner_account), region), None)


def discoverable_owners(consumer_account: str, region: str) -> list[str]:
    """Owner accounts whose catalog in ``region`` is discoverable by ``consumer_account``."""
    with _lock:
        return sorted(
            owner
            for (owner, reg), consumers in discoverable_catalogs.items()
            if reg == region and consumer_account in consumers and owner != consumer_account
        )


def set_feature_group_access(arn: str, consumer_account: str, permission: str | None) -> None:
    """Grant (or with ``permission=None`` revoke) cross-account access to one feature group."""
    with _lock:
        grants = feature_group_access.setdefault(arn, {})
        if permission is None:
            grants.pop(str(consumer_account), None)
        else:
            if permission not in _LEVELS:
                raise ControlError(f"permission must be one of {', '.join(sorted(_LEVELS))} (or null to revoke)")
            grants[str(consumer_account)] = permission


def has_access(arn: str, consumer_account: str, needed: str = READ_ONLY) -> bool:
    with _lock:
        granted = feature_group_access.get(arn, {}).get(str(consumer_account))
    return granted is not None and _LEVELS[granted] >= _LEVELS[needed]


def set_search_lag(seconds: float) -> None:
    global _search_lag_seconds
    if seconds < 0:
        raise ControlError("seconds must be zero or more")
    with _lock:
        _search_lag_seconds = float(seconds)


def search_lag() -> float:
    with _lock:
        return _search_lag_seconds


def expire_access_keys(keys) -> None:
    with _lock:
        expired_access_keys.update(keys)


def is_expired(access_key: str) -> bool:
    with _lock:
        return access_key in expired_access_keys


def snapshot() -> dict:
    with _lock:
        return {
            "discoverable": [
                {"owner_account": o, "region": r, "consumer_accounts": sorted(c)}
                for (o, r), c in sorted(discoverable_catalogs.items())
            ],
            "feature_group_access": {a: dict(g) for a, g in feature_group_access.items()},
        }


def reset() -> None:
    global _search_lag_seconds
    with _lock:
        discoverable_catalogs.clear()
        feature_group_access.clear()
        expired_access_keys.clear()
        _search_lag_seconds = 0.0

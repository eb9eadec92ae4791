"""The audit log: one append-only row per privileged action, written in the action's transaction.

Services call `audit_log(...)` inside the `transaction.atomic()` block that
makes the change, so the change and its record commit or roll back
together. Where the request came from (source address, how the actor signed
in) is picked up from the request being served — `AuditContextMiddleware`
sets it, and the API token authentication adds the token's public id — so
services need no request parameter, and work the same from Celery or a
management command (no address, "system").

Apps name their actions `<object>.<verb>` and register labels with
`audit_actions_register` when they load; the operators' audit page offers
every registered action as a filter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from portal.models import AuditEvent


@dataclass(frozen=True)
class AuditContext:
    via: str = "system"
    source_ip: str | None = None


_context: ContextVar[AuditContext] = ContextVar("pantry_audit_context", default=AuditContext())  # noqa: B039

# action -> human label; every app adds its own (see the module docstring).
ACTION_LABELS: dict[str, str] = {}


def audit_actions_register(labels: dict[str, str]) -> None:
    ACTION_LABELS.update(labels)


def audit_action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def audit_context() -> AuditContext:
    return _context.get()


@contextmanager
def audit_context_set(**changes: Any) -> Iterator[AuditContext]:
    """Run a block with parts of the audit context replaced (e.g. via="directory")."""
    token = _context.set(replace(_context.get(), **changes))
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def audit_via_update(via: str) -> None:
    """Change how the current request's actor is described (the token authentication calls this)."""
    _context.set(replace(_context.get(), via=via))


def audit_log(
    *,
    actor,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str = "",
    owner_account_id: str = "",
    consumer_account_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEvent:
    """Write one audit row. Must run inside the transaction that makes the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit events are written inside the transaction of the change they record")
    user = actor if getattr(actor, "is_authenticated", False) else None
    context = _context.get()
    return AuditEvent.objects.create(
        actor_id=user.pk if user else None,
        actor_username=user.get_username() if user else "",
        via=context.via[:64],
        source_ip=context.source_ip,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:2048],
        object_label=str(object_label)[:512],
        owner_account_id=owner_account_id or "",
        consumer_account_id=consumer_account_id or "",
        before=before or {},
        after=after or {},
        note=note,
    )


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the audit log records it.

    REMOTE_ADDR, unless Pantry runs behind proxies the operator declared
    (`TRUSTED_PROXY_COUNT`): then the address the outermost trusted proxy
    saw, taken from the right of X-Forwarded-For (anything further left was
    written by the client and could be anything).
    """
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR") or None
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            remote = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None


class AuditContextMiddleware:
    """Records, for the request being served, where it came from and how."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        via = "api" if request.path.startswith("/api/") else "web"
        token = _context.set(AuditContext(via=via, source_ip=client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


def json_safe(value: Any) -> Any:
    """A value as the before/after JSON keeps it (dates and UUIDs as strings, sets as sorted lists)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(json_safe(v) for v in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


audit_actions_register(
    {
        "account.registered": "AWS account registered",
        "account.updated": "AWS account changed",
        "sync.requested": "Sync triggered by hand",
        "membership.created": "Membership added",
        "membership.updated": "Membership changed",
        "membership.deleted": "Membership removed",
    }
)

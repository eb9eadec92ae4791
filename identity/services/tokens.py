"""Personal API tokens: issue (shown once), check, record use, revoke.

A token is `pantry_` + a 12-character public id + a 40-character secret,
both base62 from `secrets` (238 bits in the secret). Pantry keeps the
public id and the SHA-256 of the whole token: a fast hash is right for a
random secret that long (nothing to brute-force), and a database leak
gives no usable token. Lookup is by the public id (an index), then a
constant-time comparison of digests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from identity.models import ApiToken
from portal.audit import audit_log

TOKEN_PREFIX = "pantry_"
PUBLIC_ID_LENGTH = 12
SECRET_LENGTH = 40
TOKEN_LENGTH = len(TOKEN_PREFIX) + PUBLIC_ID_LENGTH + SECRET_LENGTH
_ALPHABET = string.ascii_letters + string.digits
_ALPHABET_SET = frozenset(_ALPHABET)
# Compared against when no row matches, so a miss costs what a hit costs.
_NO_DIGEST = hashlib.sha256(b"no such token").hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole token: shown once, never stored


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_max_days() -> int:
    return settings.PANTRY_TOKEN_MAX_DAYS


def _snapshot(token: ApiToken) -> dict:
    return {
        "owner": token.user.get_username(),
        "name": token.name,
        "scope": token.scope,
        "expires_at": token.expires_at.isoformat(),
        "token": token.display_id,
    }


def _audit(token: ApiToken, *, actor, action: str, before: dict | None, after: dict | None) -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type="api_token",
        object_id=token.display_id,
        object_label=f"{token.name} ({token.user.get_username()})",
        before=before,
        after=after,
    )


def api_token_create(*, user, name: str, scope: str, expires_at: datetime, actor) -> IssuedToken:
    """Issue a token for `user` (who is also the actor: people issue their own tokens)."""
    name = (name or "").strip()
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the token a name that says what uses it, e.g. “airflow-prod lineage”."]
    elif len(name) > 100 or "\x00" in name:
        errors["name"] = ["A token name is at most 100 characters."]
    if scope not in ApiToken.Scope.values:
        errors["scope"] = ["Choose read or write."]
    if expires_at <= now:
        errors["expires_at"] = ["Choose an expiry date in the future."]
    elif expires_at > now + timedelta(days=token_max_days(), hours=24):
        errors["expires_at"] = [f"A token lives at most {token_max_days()} days."]
    if errors:
        raise ValidationError(errors)
    public_id, secret = _random(PUBLIC_ID_LENGTH), _random(SECRET_LENGTH)
    raw = f"{TOKEN_PREFIX}{public_id}{secret}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            scope=scope,
            public_id=public_id,
            digest=token_digest(raw),
            created_at=now,
            expires_at=expires_at,
        )
        _audit(token, actor=actor, action="token.created", before=None, after=_snapshot(token))
    return IssuedToken(token=token, secret=raw)


def api_token_revoke(*, token: ApiToken, actor) -> bool:
    """Revoke at once (the next request with it gets 401). Returns False when it already was."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked_at is not None:
            return False
        before = _snapshot(locked) | {"status": locked.status}
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.save(update_fields=["revoked_at", "revoked_by"])
        _audit(locked, actor=actor, action="token.revoked", before=before, after={"status": "revoked"})
    token.revoked_at, token.revoked_by = locked.revoked_at, locked.revoked_by
    return True


def api_token_find(raw: str) -> ApiToken | None:
    """The token row `raw` belongs to, whatever its state; None when it is not a token Pantry issued."""
    if len(raw) != TOKEN_LENGTH or not raw.startswith(TOKEN_PREFIX):
        return None
    body = raw[len(TOKEN_PREFIX) :]
    if not set(body) <= _ALPHABET_SET:
        return None
    token = ApiToken.objects.select_related("user").filter(public_id=body[:PUBLIC_ID_LENGTH]).first()
    digest = token_digest(raw)
    if not hmac.compare_digest(token.digest if token else _NO_DIGEST, digest) or token is None:
        return None
    return token


def api_token_touch(*, token: ApiToken, ip: str | None) -> None:
    """Record use without a write per request: at most one UPDATE per token per interval.

    The condition is in the UPDATE itself, so concurrent requests with the
    same token do not race into several writes.
    """
    now = timezone.now()
    interval = timedelta(seconds=settings.PANTRY_TOKEN_LAST_USED_INTERVAL_SECONDS)
    if token.last_used_at is not None and token.last_used_at > now - interval:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - interval)
    ).update(last_used_at=now, last_used_ip=ip)

"""Credential checks in front of moto: unknown keys and expired sessions fail as they do on AWS.

moto accepts any access key. The sandbox checks the keys that have AWS's shape
(20 characters, ``AKIA…`` for an IAM user's key, ``ASIA…`` for a temporary one):

* an ``ASIA`` key must belong to a session the sandbox's STS issued, signed with that session's
  token; an expired session (its duration passed on the sandbox clock — moving the clock forward
  expires sessions issued before the move — or expired on demand through
  ``POST /_sandbox/sessions/expire``) fails with the service's expired-token error;
* an ``AKIA`` key must be an access key an IAM user of the sandbox holds.

Keys of any other shape (``testing``, ``pantry-demo``) are the sandbox administrator's — moto's
convention for its default account — and pass, so the seed, the demo and Pantry's own platform
credentials keep working.

The error each protocol answers with, as AWS does (the JSON-protocol services answer 400,
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html lists the query codes):

=============  ==============================  ================================
protocol       unknown key / bad token         expired session
=============  ==============================  ================================
query          403 InvalidClientTokenId        403 ExpiredToken
json           400 UnrecognizedClientException 400 ExpiredTokenException
rest-json      403 UnrecognizedClientException 403 ExpiredTokenException
rest-xml (S3)  403 InvalidAccessKeyId          400 ExpiredToken
=============  ==============================  ================================
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import re
import threading
from collections.abc import Iterator
from typing import Any

from . import clock
from ._common import credential_scope, query_params

_lock = threading.Lock()
_expired: set[str] = set()  # access keys of sessions expired on demand
# The sandbox clock's offset when each session was issued. moto stamps Expiration in real time;
# a session lasts its duration on the clock that was current when it was issued, so moving the
# clock forward expires old sessions but not the ones assumed afterwards.
_issued_offset: dict[str, dt.timedelta] = {}
# The access key of the request this thread is serving, for the messages that name the caller.
_request_access_key: contextvars.ContextVar[str | None] = contextvars.ContextVar("sandbox_access_key", default=None)
_AWS_KEY_RE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
_INVALID_MESSAGE = "The security token included in the request is invalid."
_EXPIRED_MESSAGE = "The security token included in the request is expired"

ERRORS = {
    # protocol: ((status, code, message) for an invalid key, the same for an expired session)
    "query": ((403, "InvalidClientTokenId", _INVALID_MESSAGE), (403, "ExpiredToken", _EXPIRED_MESSAGE)),
    "json": (
        (400, "UnrecognizedClientException", _INVALID_MESSAGE),
        (400, "ExpiredTokenException", _EXPIRED_MESSAGE),
    ),
    "rest-json": (
        (403, "UnrecognizedClientException", _INVALID_MESSAGE),
        (403, "ExpiredTokenException", _EXPIRED_MESSAGE),
    ),
    "rest-xml": (
        (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
        (400, "ExpiredToken", "The provided token has expired."),
    ),
}


@functools.cache
def protocol_of(signing_name: str) -> str | None:
    """The wire protocol of a service from botocore's model (its name is the signing name for the
    services the sandbox serves: sagemaker, sts, iam, s3, ram, cloudtrail); None when unknown."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        return botocore.session.get_session().get_service_model(signing_name).protocol
    except UnknownServiceError:
        return None


def _credential(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(access key, session token) from a SigV4 Authorization header or a presigned URL."""
    scope = credential_scope(environ)
    if scope is None:
        return None, None
    if scope.presigned:
        return scope.access_key, query_params(environ).get("X-Amz-Security-Token")
    return scope.access_key, environ.get("HTTP_X_AMZ_SECURITY_TOKEN")


def assumed_role(access_key: str) -> Any:
    from moto.sts.models import sts_backends

    for account in list(sts_backends.values()):
        for backend in list(account.values()):
            for assumed in list(backend.assumed_roles):
                if assumed.access_key_id == access_key:
                    return assumed
    return None


def _user_of_key(access_key: str) -> Any:
    from moto.iam.models import iam_backends

    for account in list(iam_backends.values()):
        for backend in list(account.values()):
            user = backend.get_user_from_access_key_id(access_key)
            if user is not None:
                return user
    return None


def caller_arn(access_key: str | None, account: str) -> str:
    """The caller as AWS names it in an AccessDenied message ("User: ARN is not authorized ...").

    Credentials from sts:AssumeRole are the session, ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``
    (the role's name without its path); an IAM user's key is the user, ``arn:aws:iam::ACCOUNT:user/PATH/NAME``.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
    Any other key (the administrator's ``testing``, or none) is moto's default identity, the IAM user
    ``moto`` of ``account`` (the account the request acts in), as the CloudTrail recorder writes it.
    """
    if access_key:
        assumed = assumed_role(access_key)
        if assumed is not None:
            return assumed.arn
        user = _user_of_key(access_key) if access_key.startswith("AKIA") else None
        if user is not None:
            return user.arn
    return f"arn:aws:iam::{account}:user/moto"


def request_caller_arn(account: str) -> str:
    """:func:`caller_arn` of the request being served (see :func:`serving`)."""
    return caller_arn(_request_access_key.get(), account)


@contextlib.contextmanager
def serving(environ: dict[str, Any]) -> Iterator[None]:
    """Remember the request's access key while it is served, so that code without the request
    (moto's backends) can name the caller."""
    scope = credential_scope(environ)
    token = _request_access_key.set(scope.access_key if scope else None)
    try:
        yield
    finally:
        _request_access_key.reset(token)


def _user_key_exists(access_key: str) -> bool:
    from moto.iam.models import iam_backends

    return any(
        access_key in backend.access_keys for account in list(iam_backends.values()) for backend in account.values()
    )


def check(environ: dict[str, Any]) -> str | None:
    """None when the request's credentials are acceptable, else "invalid" or "expired"."""
    access_key, token = _credential(environ)
    if not access_key or not _AWS_KEY_RE.match(access_key):
        return None
    if access_key.startswith("AKIA"):
        return None if _user_key_exists(access_key) else "invalid"
    assumed = assumed_role(access_key)
    if assumed is None or token != assumed.session_token:
        return "invalid"
    with _lock:
        offset = _issued_offset.get(access_key, dt.timedelta(0))
    # moto's Expiration is naive real-time UTC; compare on the sandbox clock.
    if _is_expired(access_key) or assumed.expiration + offset <= clock.now().replace(tzinfo=None):
        return "expired"
    return None


def note_issued() -> None:
    """Record the clock offset for sessions STS just issued (called after every AssumeRole)."""
    offset = clock.offset()
    keys = sessions_of_role(None)
    with _lock:
        for key in keys:
            _issued_offset.setdefault(key, offset)


def expire(access_keys: list[str]) -> None:
    """Expire these sessions now (``POST /_sandbox/sessions/expire``)."""
    with _lock:
        _expired.update(access_keys)


def _is_expired(access_key: str) -> bool:
    with _lock:
        return access_key in _expired


def reset() -> None:
    with _lock:
        _expired.clear()
        _issued_offset.clear()


def sessions_of_role(role_arn: str | None) -> list[str]:
    """Access keys of every session the sandbox's STS issued for `role_arn` (None: every session)."""
    from moto.sts.models import sts_backends

    return [
        assumed.access_key_id
        for account in list(sts_backends.values())
        for backend in list(account.values())
        for assumed in list(backend.assumed_roles)
        if role_arn is None or assumed.role_arn == role_arn
    ]

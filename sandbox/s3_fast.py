"""Plain S3 reads served straight from moto's S3 backend, without moto's per-request machinery.

moto answers an S3 ``GetObject`` through Flask routing, its generic request parsing, its
response serializer and its CORS layer: several milliseconds of CPU for a 10 KB object, which
made the sandbox — not the ingestion workers — the limit of the CloudTrail benchmark. This
module answers the three calls an ingester makes, in their plain form, from the same moto
objects and with moto's own helpers (``FakeKey.response_dict``, ``metadata``, ``etag``,
``safe_name``, the backend's continuation tokens), so the response is the one moto gives:

* ``GetObject`` / ``HeadObject``: ``GET|HEAD /bucket/key`` without a query string, or with only
  a SigV4 presigned URL's parameters (``X-Amz-Algorithm``, ``X-Amz-Credential``, …: query-string
  authentication, which a client uses to fetch an object with a plain HTTP GET);
* ``ListObjectsV2``: ``GET /bucket?list-type=2`` with ``prefix``, ``start-after``,
  ``continuation-token``, ``max-keys`` and ``encoding-type`` only (no delimiter, no
  ``fetch-owner``).

Anything else goes to moto unchanged (``handle`` returns None): other methods and query
parameters, virtual-hosted addressing, ``Range``, conditional headers (``If-…``), ``Origin``
(CORS), SSE-C, ``x-moto-account-id``, keys or prefixes outside ``[A-Za-z0-9._/-]``, a missing
bucket or key (moto's error documents), a bucket with a policy or server access logging,
archived storage classes, delete markers, unknown continuation tokens, and moto's IAM
enforcement when it is switched on.

Only the caller's own buckets are served here. S3's cross-account rule — a bucket of another
account answers ``403 AccessDenied`` unless its bucket policy grants the caller the action — is
enforced by :mod:`sandbox.s3_access` in front of this path and moto alike; a request it lets
through to another account's bucket always meets a bucket policy, so moto answers it. ``tests/sandbox/test_s3_fast.py`` sends the same requests
through this path and through moto and compares status, headers and bodies.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote

from ._common import credential_scope, key_account, query_params

# A SigV4 presigned URL's query parameters (X-Amz-Security-Token only with temporary credentials).
# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
_PRESIGNED_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
_SAFE = re.compile(r"^[A-Za-z0-9._/-]*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LOCAL_HOST = re.compile(r"^(?:localhost|\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$")
# Request headers an SDK sends with a plain read; any other header sends the request to moto.
_PLAIN_HEADERS = frozenset(
    {
        "HTTP_HOST",
        "HTTP_USER_AGENT",
        "HTTP_ACCEPT",
        "HTTP_ACCEPT_ENCODING",
        "HTTP_CONNECTION",
        "HTTP_AUTHORIZATION",
        "HTTP_X_AMZ_DATE",
        "HTTP_X_AMZ_CONTENT_SHA256",
        "HTTP_X_AMZ_SECURITY_TOKEN",
        "HTTP_X_AMZ_CHECKSUM_MODE",
        "HTTP_AMZ_SDK_INVOCATION_ID",
        "HTTP_AMZ_SDK_REQUEST",
        "HTTP_CONTENT_LENGTH",
    }
)
_LIST_PARAMS = frozenset({"list-type", "prefix", "start-after", "continuation-token", "max-keys", "encoding-type"})
_XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'

# Off in tests that compare this path with moto's.
enabled = True


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _request_id() -> str:
    from moto.utilities.aws_headers import gen_amzn_requestid_long

    return gen_amzn_requestid_long()


def _plain(environ: dict[str, Any]) -> tuple[str, str, bool] | None:
    """(access key, region, presigned) when the request is a plain, path-style, signed S3 call.

    Signed either in the Authorization header or, for an object, by a SigV4 presigned URL whose
    query holds nothing but the signature's parameters.
    """
    if not _LOCAL_HOST.match(environ.get("HTTP_HOST", "")):
        return None
    for name in environ:
        if name.startswith("HTTP_") and name not in _PLAIN_HEADERS:
            return None
    scope = credential_scope(environ)
    if scope is None or scope.service != "s3" or scope.region is None:
        return None
    if scope.presigned and not _presigned_plain(environ):
        return None
    signer = (scope.access_key, scope.region, scope.presigned)
    from moto import settings

    if settings.INITIAL_NO_AUTH_ACTION_COUNT != float("inf") or "MOTO_ACCOUNT_ID" in os.environ:
        return None
    return signer


def _presigned_plain(environ: dict[str, Any]) -> bool:
    """A SigV4 presigned URL whose query holds nothing but the signature's parameters."""
    params = query_params(environ)
    return (
        params.keys() <= _PRESIGNED_PARAMS
        and params.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"
        and "X-Amz-Signature" in params
    )


def _backend(environ: dict[str, Any], access_key: str, region: str) -> Any:
    """The caller's S3 backend (its continuation tokens), after noting the key's use as moto does."""
    from moto.iam.models import mark_account_as_visited
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    account = key_account(environ, access_key)
    mark_account_as_visited(account_id=account, access_key=access_key, service="s3", region=region)
    return s3_backends[account][get_partition(region)]


def _bucket(backend: Any, name: str) -> Any:
    """The bucket when reads of it need nothing moto's full path does, else None."""
    from moto.s3.models import FakeBucket

    # Only the caller's own buckets: another account's bucket is readable only through its policy
    # (sandbox.s3_access, which runs before this path), and a bucket with a policy goes to moto.
    located = backend.buckets.get(name)
    if type(located) is not FakeBucket or located.policy is not None or located.logging:
        return None
    return located


def _count_request() -> None:
    # moto counts requests while IAM enforcement is off (set_initial_no_auth_action_count).
    from moto.core.authorization import ActionAuthenticatorMixin

    ActionAuthenticatorMixin.request_count += 1


def handle(environ: dict[str, Any], start_response: Callable) -> list[bytes] | None:
    """Answer a plain S3 read, or None to let moto answer it."""
    if not enabled:
        return None
    method = environ.get("REQUEST_METHOD")
    if method not in ("GET", "HEAD"):
        return None
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    path, _, query = raw.partition("?")
    if not path.startswith("/") or not _SAFE.match(path) or "//" in path:
        return None
    signer = _plain(environ)
    if signer is None:
        return None
    access_key, region, presigned = signer
    bucket_name, _, key_name = path[1:].partition("/")
    if not _BUCKET.match(bucket_name):
        return None
    backend = _backend(environ, access_key, region)
    bucket = _bucket(backend, bucket_name)
    if bucket is None:
        return None
    if key_name:
        if query and not presigned:
            return None
        return _object(environ, start_response, backend, bucket, key_name, method == "HEAD")
    if method == "GET" and query and not presigned:
        return _list_v2(environ, start_response, backend, bucket, query)
    return None


def _object(
    environ: dict[str, Any], start_response: Callable, backend: Any, bucket: Any, key_name: str, head: bool
) -> list[bytes] | None:
    from moto.s3.models import FakeKey
    from moto.s3.utils import ARCHIVE_STORAGE_CLASSES

    current = bucket.keys.get(key_name)
    if type(current) is not FakeKey or (not head and current.storage_class in ARCHIVE_STORAGE_CLASSES):
        return None
    key = backend.get_object(bucket.name, key_name)  # moto's own lookup (it advances restores)
    if key is not current:
        return None
    _count_request()
    headers: dict[str, str] = {}
    if head:
        # moto's HeadObject: metadata first, then the key's response headers.
        headers.update(key.metadata)
        headers.update(key.response_dict)
        headers["Accept-Ranges"] = "bytes"
        if environ.get("HTTP_X_AMZ_CHECKSUM_MODE") == "ENABLED" and key.checksum_algorithm:
            headers[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = key.checksum_value
        body = b""
    else:
        if key.version_id != "null":
            headers["x-amz-version-id"] = key.version_id
        headers.update(key.response_dict)
        if environ.get("HTTP_X_AMZ_CHECKSUM_MODE") == "ENABLED" and key.checksum_algorithm:
            checksum = key.checksum_value
            if key.checksum_type == "COMPOSITE":
                checksum = f"{checksum}-{key.checksum_parts}"
            headers[f"x-amz-checksum-{key.checksum_algorithm.lower()}"] = checksum
            if key.checksum_type:
                headers["x-amz-checksum-type"] = key.checksum_type
        headers.update(key.metadata)
        headers["Accept-Ranges"] = "bytes"
        body = key.value
    headers["x-amzn-requestid"] = _request_id()
    out = [(name, str(value)) for name, value in headers.items() if name.lower() != "content-length"]
    out.append(("Content-Length", str(key.size)))
    if not any(name.lower() == "content-type" for name, _ in out):
        out.append(("Content-Type", "text/html; charset=utf-8"))
    out.append(("Access-Control-Allow-Origin", "*"))
    start_response("200 OK", out)
    return [body] if body else []


def _list_v2(
    environ: dict[str, Any], start_response: Callable, backend: Any, bucket: Any, query: str
) -> list[bytes] | None:
    from moto import settings
    from moto.s3.models import FakeDeleteMarker, FakeKey

    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _LIST_PARAMS or name in params:
            return None
        params[name] = value
    if params.get("list-type") != "2":
        return None
    prefix = params.get("prefix", "")
    start_after = params.get("start-after")
    token = params.get("continuation-token")
    encoding = params.get("encoding-type")
    if not _SAFE.match(prefix) or (start_after is not None and not _SAFE.match(start_after)):
        return None
    if encoding not in (None, "url"):
        return None
    try:
        max_keys = int(params.get("max-keys", settings.get_s3_default_max_keys()))
    except ValueError:
        return None
    if max_keys <= 0 or not params.get("max-keys", "1").isdigit():
        return None
    if token is not None:
        limit = backend._pagination_tokens.get(token)
        if not limit:
            return None
    else:
        limit = start_after
    names = [n for n in bucket.keys if n.startswith(prefix) and (not limit or n > limit)]
    names.sort()
    page: list[Any] = []
    truncated = False
    for name in names:
        key = bucket.keys[name]
        if isinstance(key, FakeDeleteMarker):
            continue
        if type(key) is not FakeKey:
            return None
        if len(page) == max_keys:
            truncated = True
            break
        page.append(key)
    _count_request()
    next_token = ""
    if truncated:
        last = page[-1].name
        next_token = hashlib.md5(last.encode("utf-8")).hexdigest()  # noqa: S324 -- moto's token
        backend._pagination_tokens[next_token] = last
    parts = [_XML_HEAD, f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    for key in page:
        parts.append(
            f"<Contents><Key>{_escape(key.safe_name(encoding))}</Key>"
            f"<LastModified>{key.last_modified_ISO8601}</LastModified><ETag>{_escape(key.etag)}</ETag>"
        )
        if key.checksum_algorithm:
            parts.append(f"<ChecksumAlgorithm>{_escape(key.checksum_algorithm)}</ChecksumAlgorithm>")
        parts.append(f"<Size>{key.size}</Size><StorageClass>{_escape(key.storage_class)}</StorageClass></Contents>")
    shown_prefix = quote(prefix) if encoding == "url" and prefix else prefix
    parts.append(f"<Name>{_escape(bucket.name)}</Name>")
    parts.append(f"<Prefix>{_escape(shown_prefix)}</Prefix>" if shown_prefix else "<Prefix/>")  # moto's empty element
    parts.append(f"<MaxKeys>{max_keys}</MaxKeys>")
    if encoding:
        parts.append(f"<EncodingType>{encoding}</EncodingType>")
    parts.append(f"<KeyCount>{len(page)}</KeyCount>")
    if next_token:
        parts.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
    if token is None and start_after:
        parts.append(f"<StartAfter>{_escape(start_after)}</StartAfter>")
    parts.append("</ListBucketResult>")
    body = "".join(parts).encode("utf-8")
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/xml"),
            ("x-amzn-requestid", _request_id()),
            ("Content-Length", str(len(body))),
            ("Server", "amazon.com"),
            ("Access-Control-Allow-Origin", "*"),
        ],
    )
    return [body]

"""Usage's S3 gateway: listing and streaming CloudTrail log files (the only boto3 user in usage).

Stands on `portal.aws` (sessions, error translation, call counting). Returns frozen
dataclasses and byte chunks; every botocore error leaves as an `portal.aws.AwsError`.

Downloads take a direct path: boto3 presigns the GetObject (endpoint rules, credentials and
SigV4 are botocore's) and the object is fetched with one plain GET over a kept-alive
connection. A full `get_object` costs ~0.9 ms of CPU, far more than gunzipping and parsing a
typical small log file, and most of it is per-call machinery (event hooks, request and response
serialisation, endpoint rules) that a plain GET does not need. Anything but a 200 — an S3 error,
a connection problem, a proxy in the way — falls back to `get_object` for that key, so retries,
credential refreshes and error mapping stay exactly boto3's. See docs/usage.md, "Downloads".
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import logging
import os
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.httpchecksum
import botocore.httpsession
import botocore.session
from botocore.response import StreamingBody
from urllib3.util import wait_for_read

from portal.aws import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    AccountRole,
    AccountSession,
    CallCounter,
    Gateway,
    SessionLike,
    account_session,
    count_credential_refreshes_on,
    translate_error,
)

# S3 returns at most 1,000 keys a page.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
LIST_PAGE_SIZE = 1000
CHUNK_BYTES = 1 << 20
# A presigned URL is used at once; it only has to outlive a slow connection and read.
PRESIGNED_URL_SECONDS = 300
# Connections kept open per S3 host: one per download thread (PANTRY_USAGE_DOWNLOAD_THREADS).
DIRECT_POOL_CONNECTIONS = 16
# After a 5xx (S3's throttling answer "503 SlowDown" among them) the direct path to that host
# rests this long. Meanwhile every file goes through get_object, whose retries and adaptive rate
# limiter back off as S3 asks; direct GETs, outside that limiter, would add one more request per
# file while S3 throttles. https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html
DIRECT_PAUSE_AFTER_SERVER_ERROR_SECONDS = 60
# Answers that say a presigned GET to this host will not work for any object, so the direct path
# stays off for the gateway's lifetime: 301/307 (the bucket is served by another host), 400 (a
# region the host cannot reach: IllegalLocationConstraintException; an expired or malformed
# signature), 403 (a bucket policy denying query-string authentication through `s3:authType`;
# S3's clock past the URL's expiry). A 404 is one missing object and changes nothing.
# https://docs.aws.amazon.com/AmazonS3/latest/API/bucket-policy-s3-sigv4-conditions.html
DIRECT_REFUSALS = frozenset({301, 307, 400, 403})

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    etag: str
    last_modified: dt.datetime | None


class TrailBucketGateway(Gateway):
    service = "s3"

    def __init__(self, session: SessionLike, *, direct_downloads: bool = True) -> None:
        super().__init__(session)
        self._direct = _DirectGet.for_client(self.client, self.counter) if direct_downloads else None

    def child_prefixes(self, *, bucket: str, prefix: str) -> list[str]:
        """The "folders" directly under `prefix` (ListObjectsV2 with a "/" delimiter)."""
        out: list[str] = []
        for page in self._pages("ListObjectsV2", Bucket=bucket, Prefix=prefix, Delimiter="/"):
            out.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return out

    def objects(self, *, bucket: str, prefix: str, start_after: str = "") -> Iterator[S3Object]:
        """Objects under `prefix` in key order, after `start_after` (S3 lists keys in UTF-8 order)."""
        params = {"Bucket": bucket, "Prefix": prefix}
        if start_after:
            params["StartAfter"] = start_after
        for page in self._pages("ListObjectsV2", page_size=LIST_PAGE_SIZE, **params):
            for item in page.get("Contents", []):
                yield S3Object(
                    key=item["Key"],
                    size=int(item.get("Size", 0)),
                    etag=str(item.get("ETag", "")).strip('"'),
                    last_modified=item.get("LastModified"),
                )

    def object_chunks(self, *, bucket: str, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes as stored (still gzipped), a chunk at a time: memory stays bounded."""
        body = self._direct.body(bucket=bucket, key=key) if self._direct is not None else None
        if body is None:
            body = self._call("GetObject", Bucket=bucket, Key=key)["Body"]
        try:
            while True:
                try:
                    chunk = body.read(chunk_bytes)
                except Exception as exc:  # noqa: BLE001 - translated, never swallowed
                    raise translate_error(exc, "GetObject") from exc
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()


class _DirectGet:
    """GetObject as a presigned URL and one plain GET; None from `body` means "use get_object".

    The URL is made per call by the client (`generate_presigned_url`), so refreshed credentials
    are always the current ones. It is a bearer credential for its lifetime, so it is never
    logged and never put in an exception: the GET goes over the standard library's
    `http.client`, which logs nothing (urllib3's pool logs every request line at DEBUG, and a
    malformed response's URL at WARNING), and every error of the request is dropped for the
    fallback's own.

    Every GET it sends counts as a GetObject call on `counter`, answered or not (S3 received
    it). Answers and connection failures that will recur for every file turn the direct path
    off for that host (`_Connections.accepts_requests`).
    """

    def __init__(self, client: Any, counter: CallCounter) -> None:
        self._client = client
        self._counter = counter
        self._hosts: dict[tuple[str, str], _Connections | None] = {}
        self._hosts_lock = threading.Lock()
        # What get_object would ask for and check: S3's checksum of the object when the client
        # validates responses (botocore's default, "when_supported"), checked by botocore's code.
        operation = client.meta.service_model.operation_model("GetObject")
        self._params: dict[str, str] = {}
        self._headers: dict[str, str] = {}
        self._checksum_context: dict[str, Any] = {}
        if client.meta.config.response_checksum_validation == "when_supported":
            self._params = {"ChecksumMode": "ENABLED"}
            self._headers = {"x-amz-checksum-mode": "ENABLED"}
            request: dict[str, Any] = {"context": {}}
            botocore.httpchecksum.resolve_response_checksum_algorithms(request, operation, self._params)
            self._checksum_context = request["context"]
        self._operation = operation

    @classmethod
    def for_client(cls, client: Any, counter: CallCounter) -> _DirectGet | None:
        """The direct path for this client, or None where a plain GET could differ from boto3's:
        proxies or a client certificate in the client's configuration."""
        config = client.meta.config
        if config.proxies or config.client_cert:
            return None
        return cls(client, counter)

    def body(self, *, bucket: str, key: str) -> StreamingBody | None:
        count_credential_refreshes_on(self._counter)  # presigning may assume the role again
        try:
            url = self._client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key, **self._params}, ExpiresIn=PRESIGNED_URL_SECONDS
            )
        except Exception:  # noqa: BLE001 - get_object meets the same problem and reports it
            return None
        parts = urlsplit(url)
        connections = self._connections(parts.scheme, parts.netloc, parts.hostname or "")
        if connections is None or not connections.accepts_requests():
            return None
        connection = connections.take()
        try:
            if connection.sock is None:
                connection.connect()  # refused, timed out, TLS not trusted: the host's, not the object's
        except Exception as exc:  # noqa: BLE001 - get_object connects again and reports what fails
            connection.close()
            connections.refuse(f"connecting failed ({type(exc).__name__})")
            return None
        try:
            connection.request("GET", f"{parts.path}?{parts.query}", headers=self._headers)
            self._counter.add("GetObject")
            if connection.sock is not None:  # connected within CONNECT_TIMEOUT_SECONDS; the answer may take longer
                connection.sock.settimeout(READ_TIMEOUT_SECONDS)
            response = connection.getresponse()
            if response.status == 200:
                return self._checked_body(_Download(response, connection, connections, parts.path), response)
            connections.note_error_status(response.status)
        except Exception:  # noqa: BLE001, S110 - get_object makes the call again and reports what fails
            pass  # a kept-alive connection S3 closed meanwhile, a slow answer: this request's only
        connection.close()  # an error's body is not worth reading: the connection goes
        return None

    def _connections(self, scheme: str, netloc: str, hostname: str) -> _Connections | None:
        """The idle connections to this S3 host; None when a plain GET to it could differ from
        boto3's (not HTTP(S), or an environment proxy applies: botocore's proxy handling)."""
        with self._hosts_lock:
            if (scheme, netloc) not in self._hosts:
                usable = scheme in ("http", "https") and not _environment_proxy(hostname)
                self._hosts[(scheme, netloc)] = _Connections(scheme, netloc) if usable else None
            return self._hosts[(scheme, netloc)]

    def _checked_body(self, download: _Download, response: http.client.HTTPResponse) -> StreamingBody:
        """The body as get_object returns it: botocore's stream (its length check), wrapped in
        botocore's checksum validation when S3 sent a checksum botocore can check."""
        length = response.getheader("content-length")
        body = StreamingBody(download, int(length) if length is not None else None)
        if self._checksum_context:
            headers = {name.lower(): value for name, value in response.getheaders()}
            parsed = {"headers": headers, "body": body, "context": {}}
            botocore.httpchecksum.handle_checksum_body(
                _RawOnly(download), parsed, self._checksum_context, self._operation
            )
            body = parsed["body"]
        return body


class _Connections:
    """Keep-alive connections to one S3 host, each used by one download at a time, and whether
    direct GETs to it are worth sending (turned off for good, or paused, by what it answered)."""

    def __init__(self, scheme: str, netloc: str) -> None:
        self._netloc = netloc
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._refused = False
        self._paused_until = 0.0
        # Trust resolved once per host (it reads botocore's configuration), not per connection.
        self._tls = _tls_context() if scheme == "https" else None

    def accepts_requests(self) -> bool:
        with self._lock:
            return not self._refused and monotonic() >= self._paused_until

    def note_error_status(self, status: int) -> None:
        """Turn the direct path off or pause it after an answer other than 200 (see DIRECT_REFUSALS)."""
        if status in DIRECT_REFUSALS:
            self.refuse(f"S3 answered {status}")
        elif status >= 500:
            with self._lock:
                now = monotonic()
                already_paused = now < self._paused_until  # another download's 5xx paused it
                self._paused_until = now + DIRECT_PAUSE_AFTER_SERVER_ERROR_SECONDS
            if already_paused:
                return
            logger.info(
                "Direct S3 downloads from %s paused for %d s: S3 answered %d; get_object carries them",
                self._netloc,
                DIRECT_PAUSE_AFTER_SERVER_ERROR_SECONDS,
                status,
            )

    def refuse(self, reason: str) -> None:
        """Stop direct GETs to this host for good; said once, naming the host only (never a URL)."""
        with self._lock:
            already, self._refused = self._refused, True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        if not already:
            logger.warning("Direct S3 downloads from %s turned off: %s; get_object carries them", self._netloc, reason)

    def take(self) -> http.client.HTTPConnection:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                # An idle connection with something to read has been closed by S3 (or is broken).
                if connection.sock is not None and not wait_for_read(connection.sock, timeout=0.0):
                    return connection
                connection.close()
        if self._tls is not None:
            return http.client.HTTPSConnection(self._netloc, timeout=CONNECT_TIMEOUT_SECONDS, context=self._tls)
        return http.client.HTTPConnection(self._netloc, timeout=CONNECT_TIMEOUT_SECONDS)

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < DIRECT_POOL_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()


class _Download:
    """The body of a direct GET, read as botocore reads a response's raw stream.

    Read errors become botocore's own (`ReadTimeoutError` naming the object's path, not the URL;
    `ResponseStreamingError`), as get_object's body raises them; the connection goes back to the
    pool only after the whole body was read.
    """

    def __init__(
        self, response: http.client.HTTPResponse, connection: http.client.HTTPConnection, pool: _Connections, path: str
    ) -> None:
        self._response = response
        self._connection: http.client.HTTPConnection | None = connection
        self._pool = pool
        self._path = path

    def read(self, amt: int | None = None) -> bytes:
        try:
            return self._response.read(amt)
        except TimeoutError as exc:
            self._discard()
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=self._path, error=exc) from None
        except (OSError, http.client.HTTPException) as exc:
            self._discard()
            raise botocore.exceptions.ResponseStreamingError(error=exc) from None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        read_to_the_end = self._response.isclosed() and not self._response.length  # not cut short either
        if read_to_the_end and not self._response.will_close:
            self._pool.give_back(connection)
        else:  # abandoned or cut short, or S3 closes it: it cannot carry another request
            self._response.close()
            connection.close()

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class _RawOnly:
    """What botocore's checksum handler reads of an HTTP response: its raw stream."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw


def _environment_proxy(host: str) -> bool:
    """Whether an HTTP(S)_PROXY from the environment applies to this host, as botocore reads it."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get("https") or proxies.get("http")) and not urllib.request.proxy_bypass(host)


def _tls_context() -> ssl.SSLContext:
    """Certificates verified against the CA bundle botocore's clients use (`_botocore_ca_bundle`)."""
    return _tls_context_for(_botocore_ca_bundle())


@functools.cache
def _tls_context_for(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def _botocore_ca_bundle() -> str:
    """The CA bundle a Pantry S3 client trusts, found in botocore's order: the `ca_bundle`
    setting (AWS_CA_BUNDLE or the shared config file; botocore's Session.create_client), else
    REQUESTS_CA_BUNDLE (botocore's EndpointCreator._get_verify_value), else botocore's default
    bundle (certifi's).

    Pantry makes its clients without a `verify=` argument, the only way to turn verification off
    (no setting or variable does), so verification is always on, as on the client's own calls.
    """
    configured = botocore.session.get_session().get_config_variable("ca_bundle")
    return botocore.httpsession.get_cert_path(configured or os.environ.get("REQUESTS_CA_BUNDLE") or True)


def trail_session(
    *, role_arn: str, external_id: str, region: str, counter: CallCounter | None = None
) -> AccountSession:
    """A session in the bucket's account through the trail source's reader role."""
    account_id = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    return account_session(AccountRole(account_id, role_arn, external_id), region, counter=counter)


def trail_bucket_gateway(*, role_arn: str, external_id: str, region: str) -> TrailBucketGateway:
    return TrailBucketGateway(trail_session(role_arn=role_arn, external_id=external_id, region=region))

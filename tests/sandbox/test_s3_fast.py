"""The sandbox's fast path for plain S3 reads answers exactly as moto does.

Each request is sent twice through boto3 — once answered by `sandbox.s3_fast`, once with the
fast path off (moto) — and the raw responses (status, headers, body) and botocore's parsed
results are compared. A spy shows which requests the fast path answered, so a comparison
cannot pass by both going to moto.
"""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox import s3_fast
from sandbox.cloudtrail.delivery import MotoSink

from .conftest import make_client

BUCKET = "fast-path-bucket"
LOG = "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/27/"
# Differ per response, or name the HTTP server rather than the S3 answer.
VOLATILE = {"date", "x-amzn-requestid"}


@pytest.fixture
def s3(clean_sandbox):
    client = make_client(clean_sandbox.url, "s3")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    sink = MotoSink()
    for i in range(7):
        sink.put(
            BUCKET,
            f"{LOG}111122223333_CloudTrail_eu-west-1_20261127T{i:02d}05Z_abcdEFGH{i:08d}.json.gz",
            b"\x1f\x8b" + bytes([i]) * (100 + i),
            last_modified=dt.datetime(2026, 11, 27, i, 5, 7, tzinfo=dt.UTC),
        )
    client.put_object(Bucket=BUCKET, Key="AWSLogs/plain.txt", Body=b"hello", Metadata={"team": "ml"})
    client.put_object(Bucket=BUCKET, Key="AWSLogs/typed.json", Body=b"{}", ContentType="application/json")
    client.put_object(Bucket=BUCKET, Key="AWSLogs/odd key & more+é", Body=b"odd")
    return client


@pytest.fixture
def served(monkeypatch):
    """Names of the requests the fast path answered itself."""
    answered: list[str] = []
    original = s3_fast.handle

    def spy(environ, start_response):
        result = original(environ, start_response)
        if result is not None:
            answered.append(f"{environ['REQUEST_METHOD']} {environ.get('RAW_URI')}")
        return result

    monkeypatch.setattr(s3_fast, "handle", spy)
    return answered


def _exchange(client, operation: str, **params):
    """(status, headers, body, parsed) of one call; errors are captured, not raised."""
    seen = {}

    def capture(http_response, parsed, **_):
        seen["status"] = http_response.status_code
        seen["headers"] = {k.lower(): v for k, v in http_response.headers.items()}
        seen["body"] = None if operation == "GetObject" else http_response.content  # GetObject streams
        seen["parsed"] = parsed

    client.meta.events.register(f"after-call.s3.{operation}", capture)
    try:
        try:
            result = getattr(client, _snake(operation))(**params)
            if "Body" in result:
                result["Body"] = result["Body"].read()
        except client.exceptions.ClientError as exc:
            result = exc.response
    finally:
        client.meta.events.unregister(f"after-call.s3.{operation}", capture)
    result = {k: v for k, v in result.items() if k != "ResponseMetadata"}
    headers = {k: v for k, v in seen["headers"].items() if k not in VOLATILE}
    return seen["status"], headers, seen["body"] if operation != "GetObject" else result.get("Body"), result


def _snake(operation: str) -> str:
    import botocore

    return botocore.xform_name(operation)


def _both(client, operation: str, **params):
    fast = _exchange(client, operation, **params)
    s3_fast.enabled = False
    try:
        moto = _exchange(client, operation, **params)
    finally:
        s3_fast.enabled = True
    return fast, moto


LOG_KEY = f"{LOG}111122223333_CloudTrail_eu-west-1_20261127T0305Z_abcdEFGH00000003.json.gz"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("GetObject", {"Key": LOG_KEY}),
        ("HeadObject", {"Key": LOG_KEY}),
        ("GetObject", {"Key": "AWSLogs/plain.txt"}),
        ("HeadObject", {"Key": "AWSLogs/plain.txt"}),
        ("GetObject", {"Key": "AWSLogs/typed.json"}),
        ("ListObjectsV2", {"Prefix": LOG}),
        ("ListObjectsV2", {"Prefix": "AWSLogs/"}),
        ("ListObjectsV2", {}),
        ("ListObjectsV2", {"Prefix": LOG, "StartAfter": f"{LOG}111122223333_CloudTrail_eu-west-1_20261127T02"}),
        ("ListObjectsV2", {"Prefix": LOG, "MaxKeys": 3}),
        ("ListObjectsV2", {"Prefix": "nothing-here/"}),
    ],
)
def test_plain_reads_answer_as_moto_does(s3, served, operation, params):
    fast, moto = _both(s3, operation, Bucket=BUCKET, **params)
    assert len(served) == 1, "the fast path did not answer"
    assert fast[0] == moto[0] == 200
    assert fast[2] == moto[2]
    assert fast[1] == moto[1]
    assert fast[2] == moto[2]
    assert fast[3] == moto[3]  # botocore parsed both the same (and validated the shapes)


def test_listing_pages_through_continuation_tokens_like_moto(s3, served):
    def pages(enabled: bool) -> list:
        s3_fast.enabled = enabled
        try:
            out = []
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, Prefix=LOG, PaginationConfig={"PageSize": 2}
            ):
                page.pop("ResponseMetadata")
                out.append(page)
            return out
        finally:
            s3_fast.enabled = True

    fast, moto = pages(True), pages(False)
    assert len(fast) == 4
    assert len(served) == 4
    assert fast == moto
    assert [c["Key"] for p in fast for c in p["Contents"]] == sorted(
        f"{LOG}111122223333_CloudTrail_eu-west-1_20261127T{i:02d}05Z_abcdEFGH{i:08d}.json.gz" for i in range(7)
    )


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("GetObject", {"Key": LOG_KEY, "Range": "bytes=2-10"}),
        ("GetObject", {"Key": LOG_KEY, "IfNoneMatch": "*"}),
        ("GetObject", {"Key": "AWSLogs/missing.json.gz"}),
        ("HeadObject", {"Key": "AWSLogs/missing.json.gz"}),
        ("GetObject", {"Key": "AWSLogs/odd key & more+é"}),
        ("GetObject", {"Key": LOG_KEY, "VersionId": "null"}),
        ("ListObjectsV2", {"Prefix": "AWSLogs/", "Delimiter": "/"}),
        ("ListObjectsV2", {"Prefix": LOG, "FetchOwner": True}),
    ],
)
def test_anything_unusual_is_left_to_moto(s3, served, operation, params):
    fast, moto = _both(s3, operation, Bucket=BUCKET, **params)
    assert served == []
    assert fast[0] == moto[0]
    assert fast[3].keys() == moto[3].keys()


def test_a_missing_bucket_keeps_awss_error(s3, served):
    fast, moto = _both(s3, "GetObject", Bucket="no-such-bucket-here", Key=LOG_KEY)
    assert served == []
    assert fast[0] == moto[0] == 404
    assert fast[3]["Error"]["Code"] == moto[3]["Error"]["Code"] == "NoSuchBucket"


def test_a_bucket_policy_denying_reads_is_enforced(s3, served):
    import json

    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/*",
                    }
                ],
            }
        ),
    )
    fast, moto = _both(s3, "GetObject", Bucket=BUCKET, Key=LOG_KEY)
    assert served == []
    assert fast[0] == moto[0] == 403


def test_connections_are_kept_alive_between_calls(s3):
    """AWS endpoints keep HTTP/1.1 connections open; werkzeug's server closed each one."""
    import http.client
    from urllib.parse import urlsplit

    endpoint = urlsplit(s3.meta.endpoint_url)
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/_sandbox/health")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == b'{"status": "ok"}'
            assert response.getheader("Connection") is None
        first = conn.sock
        conn.request("POST", "/_sandbox/faults", body=b"not json", headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 400
        response.read()
        conn.request("GET", "/_sandbox/health")
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        assert conn.sock is first  # the same socket served every request
    finally:
        conn.close()


def test_a_connection_idle_past_the_timeout_is_closed_by_the_sandbox(s3, monkeypatch):
    """A client that keeps a pooled connection open for ever does not hold a server thread for ever."""
    import http.client
    import time
    from urllib.parse import urlsplit

    from sandbox.server import KeepAliveRequestHandler

    # Wide margins both ways: a loaded machine may take a second between two requests.
    monkeypatch.setattr(KeepAliveRequestHandler, "idle_timeout", 2.0)
    endpoint = urlsplit(s3.meta.endpoint_url)
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
    try:
        conn.request("GET", "/_sandbox/health")
        assert conn.getresponse().read() == b'{"status": "ok"}'
        sock = conn.sock
        time.sleep(0.3)  # within the idle timeout: the connection still serves
        conn.request("GET", "/_sandbox/health")
        assert conn.getresponse().read() == b'{"status": "ok"}'
        assert conn.sock is sock
        time.sleep(3.5)  # past it: the sandbox closed its end
        sock.settimeout(5)
        assert sock.recv(1) == b""
    finally:
        conn.close()

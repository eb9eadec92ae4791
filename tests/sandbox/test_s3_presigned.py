"""SigV4 presigned URLs (query-string authentication) behave as S3 documents them.

S3 serves a presigned URL until ``X-Amz-Date`` + ``X-Amz-Expires`` and then answers
``403 AccessDenied`` "Request has expired"; a lifetime over seven days is refused outright.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
Every case runs with the sandbox's fast path for plain reads on and off (moto answers).
"""

from __future__ import annotations

from xml.etree import ElementTree

import boto3
import pytest
import requests
from botocore.config import Config

from sandbox import control, s3_fast

BUCKET = "presigned-bucket"
KEY = "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/11/27/file.json.gz"


@pytest.fixture(params=["fast path", "moto"])
def served(request, monkeypatch):
    """Requests the fast path answered, as (method, presigned?) (none when it is off)."""
    monkeypatch.setattr(s3_fast, "enabled", request.param == "fast path")
    answered: list[tuple[str, bool]] = []
    original = s3_fast.handle

    def spy(environ, start_response):
        result = original(environ, start_response)
        if result is not None:
            answered.append((environ["REQUEST_METHOD"], "X-Amz-Signature=" in environ.get("QUERY_STRING", "")))
        return result

    monkeypatch.setattr(s3_fast, "handle", spy)
    return request.param, answered


@pytest.fixture
def s3(clean_sandbox):
    client = boto3.client(
        "s3",
        endpoint_url=clean_sandbox.url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", retries={"max_attempts": 1, "mode": "standard"}),
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client.put_object(Bucket=BUCKET, Key=KEY, Body=b"\x1f\x8b log bytes")
    return client


def _presigned(s3, seconds: int = 300, **params) -> str:
    return s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY, **params}, ExpiresIn=seconds)


def _error(response: requests.Response) -> tuple[int, str, str]:
    document = ElementTree.fromstring(response.content)
    return response.status_code, document.findtext("Code"), document.findtext("Message")


def test_a_presigned_get_returns_the_object_as_get_object_does(s3, served):
    mode, answered = served
    response = requests.get(_presigned(s3), timeout=10)
    assert response.status_code == 200
    # Before any header-signed read below, which the fast path also answers.
    assert answered == ([("GET", True)] if mode == "fast path" else [])
    assert response.content == s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert response.headers["ETag"] == s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    if mode == "fast path":
        assert answered, "the fast path did not answer the presigned GET"
    # The signed checksum-mode header works as on a header-signed GetObject.
    url = _presigned(s3, ChecksumMode="ENABLED")
    assert requests.get(url, headers={"x-amz-checksum-mode": "ENABLED"}, timeout=10).content == b"\x1f\x8b log bytes"


def test_a_presigned_url_expires_after_its_lifetime_on_the_sandbox_clock(s3, served, clean_sandbox):
    url = _presigned(s3, seconds=60)
    assert requests.get(url, timeout=10).status_code == 200
    control.move_clock(clean_sandbox.url, advance=61)
    response = requests.get(url, timeout=10)
    assert _error(response) == (403, "AccessDenied", "Request has expired")
    document = ElementTree.fromstring(response.content)
    assert document.findtext("X-Amz-Expires") == "60"
    assert document.findtext("Expires") < document.findtext("ServerTime")
    fresh = _presigned(s3, seconds=60)  # signed on the real clock: already past its lifetime here
    assert requests.get(fresh, timeout=10).status_code == 403


def test_a_lifetime_over_seven_days_is_refused(s3, served):
    url = _presigned(s3).replace("X-Amz-Expires=300", "X-Amz-Expires=604801")
    status, code, message = _error(requests.get(url, timeout=10))
    assert (status, code) == (400, "AuthorizationQueryParametersError")
    assert "604800" in message


def test_an_injected_s3_fault_meets_presigned_requests_too(s3, served, clean_sandbox):
    control.inject_fault(
        clean_sandbox.url, "InternalError", service="s3", status=500, message="We encountered an internal error"
    )
    assert _error(requests.get(_presigned(s3), timeout=10))[:2] == (500, "InternalError")
    assert requests.get(_presigned(s3), timeout=10).status_code == 200  # the fault was used once


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("--5", "X-Amz-Expires should be a number"),
        ("%C2%B2", "X-Amz-Expires should be a number"),  # "²": a digit to str.isdigit(), not to int()
        ("ten", "X-Amz-Expires should be a number"),
        ("", "X-Amz-Expires should be a number"),
        ("-5", "X-Amz-Expires must be non-negative"),
    ],
)
def test_a_lifetime_that_is_not_a_whole_number_of_seconds_is_refused_as_s3_refuses_it(s3, served, expires, message):
    url = _presigned(s3).replace("X-Amz-Expires=300", f"X-Amz-Expires={expires}")
    assert _error(requests.get(url, timeout=10)) == (400, "AuthorizationQueryParametersError", message)


def test_a_presigned_get_without_a_header_it_signed_does_not_match_its_signature(s3, served):
    url = _presigned(s3, ChecksumMode="ENABLED")
    assert "x-amz-checksum-mode" in url  # in X-Amz-SignedHeaders: the GET must send it
    assert _error(requests.get(url, timeout=10))[:2] == (403, "SignatureDoesNotMatch")
    assert requests.get(url, headers={"x-amz-checksum-mode": "ENABLED"}, timeout=10).status_code == 200

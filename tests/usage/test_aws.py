"""Usage's S3 gateway: paging and error translation, checked by botocore's Stubber against the
real S3 model."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from botocore.response import StreamingBody

from portal import aws
from tests.aws_stubs import StubSession
from usage.aws import TrailBucketGateway

BUCKET = "aws-cloudtrail-logs-202020202020-abc"
PREFIX = "AWSLogs/o-abc1234567/111111111111/CloudTrail/eu-west-1/"


@pytest.fixture
def gateway(settings):
    settings.PANTRY_AWS_MAX_ATTEMPTS = 1
    session = StubSession("s3")
    # The Stubber answers the client's calls; a presigned GET would go past it to the network.
    gw = TrailBucketGateway(session, direct_downloads=False)
    with session.stubber as stubber:
        gw.stubber = stubber
        yield gw
        stubber.assert_no_pending_responses()


def _page(keys: list[str], token: str | None = None) -> dict:
    page = {
        "Contents": [
            {"Key": k, "Size": 100, "ETag": '"e"', "LastModified": dt.datetime(2026, 11, 20, tzinfo=dt.UTC)}
            for k in keys
        ],
        "IsTruncated": token is not None,
        "KeyCount": len(keys),
    }
    if token:
        page["NextContinuationToken"] = token
    return page


def test_objects_pages_from_the_start_after_key(gateway):
    first = {"Bucket": BUCKET, "Prefix": PREFIX, "StartAfter": PREFIX + "2026/11/20/a", "MaxKeys": 1000}
    gateway.stubber.add_response("list_objects_v2", _page([PREFIX + "2026/11/20/b"], "t"), first)
    gateway.stubber.add_response(
        "list_objects_v2", _page([PREFIX + "2026/11/21/c"]), {**first, "ContinuationToken": "t"}
    )
    keys = [o.key for o in gateway.objects(bucket=BUCKET, prefix=PREFIX, start_after=PREFIX + "2026/11/20/a")]
    assert keys == [PREFIX + "2026/11/20/b", PREFIX + "2026/11/21/c"]
    assert gateway.counter.as_dict() == {"ListObjectsV2": 2}


def test_access_denied_on_listing_is_pantrys_error(gateway):
    gateway.stubber.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
    with pytest.raises(aws.AwsAccessDenied) as caught:
        gateway.child_prefixes(bucket=BUCKET, prefix="AWSLogs/")
    assert caught.value.operation == "ListObjectsV2"


def test_object_chunks_stream_the_body_and_missing_objects_are_not_found(gateway):
    body = b"x" * 2500
    gateway.stubber.add_response(
        "get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))}, {"Bucket": BUCKET, "Key": "k"}
    )
    assert list(gateway.object_chunks(bucket=BUCKET, key="k", chunk_bytes=1000)) == [b"x" * 1000] * 2 + [b"x" * 500]
    gateway.stubber.add_client_error("get_object", "NoSuchKey", "gone", 404)
    with pytest.raises(aws.AwsNotFound):
        list(gateway.object_chunks(bucket=BUCKET, key="gone"))

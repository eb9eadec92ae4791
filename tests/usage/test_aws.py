"""Usage's S3 gateway: paging and error translation, checked by botocore's Stubber against the
real S3 model; the CA bundle its direct downloads trust."""

from __future__ import annotations

import datetime as dt
import io
import socket
import ssl

import botocore.httpsession
import certifi
import pytest
from botocore.response import StreamingBody

from portal import aws
from tests.aws_stubs import StubSession
from usage import aws as usage_aws
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


@pytest.fixture
def trusted_bundles(monkeypatch, tmp_path):
    """The CA files direct downloads' TLS contexts are made with (no file is read)."""
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    cafiles: list[str] = []
    monkeypatch.setattr(
        usage_aws, "_tls_context_for", lambda cafile: cafiles.append(cafile) or ssl.create_default_context()
    )

    def bundle_of_a_new_connection() -> str:
        connection = usage_aws._Connections("https", "trail-bucket.s3.eu-west-1.amazonaws.com").take()
        connection.close()
        return cafiles[-1]

    return bundle_of_a_new_connection


def test_direct_downloads_trust_what_botocore_trusts_by_default(trusted_bundles):
    assert trusted_bundles() == certifi.where() == botocore.httpsession.get_cert_path(True)


def test_direct_downloads_trust_requests_ca_bundle_when_no_ca_bundle_is_set(trusted_bundles, monkeypatch):
    # botocore's endpoints fall back to REQUESTS_CA_BUNDLE (a corporate TLS-inspecting proxy's CA, say).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    assert trusted_bundles() == "/etc/ssl/corporate.pem"


def test_direct_downloads_trust_aws_ca_bundle_over_requests_ca_bundle(trusted_bundles, monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/aws.pem")
    assert trusted_bundles() == "/etc/ssl/aws.pem"
    monkeypatch.delenv("AWS_CA_BUNDLE")
    (tmp_path / "config").write_text("[default]\nca_bundle = /etc/ssl/from-config.pem\n")
    assert trusted_bundles() == "/etc/ssl/from-config.pem"


class _OfflineSts:
    """STS for `portal.aws._assume_role`: sessions close to their end, so every use refreshes them."""

    def assume_role(self, **_):
        return {
            "Credentials": {
                "AccessKeyId": "ASIAOFFLINE",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                # Inside botocore's 10-minute mandatory refresh window.
                "Expiration": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
            }
        }


def test_a_credential_refresh_while_presigning_counts_on_the_downloading_gateway(settings, monkeypatch):
    settings.PANTRY_AWS_MAX_ATTEMPTS = 1
    with socket.socket() as unused:  # the endpoint refuses connections: nothing leaves the machine
        unused.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused.getsockname()[1]}")
    monkeypatch.setattr(aws, "_platform_client", lambda service: _OfflineSts())
    aws.clear_session_cache()
    role = aws.AccountRole("202020202020", "arn:aws:iam::202020202020:role/PantryTrailReader", "external")
    try:
        sync, downloads = aws.CallCounter(), aws.CallCounter()
        aws.account_session(role, "eu-west-1", counter=sync)  # another gateway's session made it first
        gateway = TrailBucketGateway(aws.account_session(role, "eu-west-1", counter=downloads))

        assert gateway._direct.body(bucket=BUCKET, key=PREFIX + "file.json.gz") is None  # refused: get_object's turn
    finally:
        aws.clear_session_cache()

    assert sync.as_dict() == {"AssumeRole": 1}
    assert downloads.counts["AssumeRole"] >= 1

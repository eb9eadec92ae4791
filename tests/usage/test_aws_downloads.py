"""Log files download through a presigned GET, and anything but a 200 is get_object's to handle.

Against the sandbox's S3 over HTTP: the bytes are the object's, an S3 error or an expired URL
ends exactly as a plain get_object call ends (same bytes, or the same Pantry error), the call
is counted once, and the presigned URL — a bearer credential — shows up in no log line and no
error.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import socket
import traceback
from urllib.parse import unquote

import pytest

from portal import aws
from sandbox import control
from tests.usage.trail_helpers import CONSUMER, at, caller, group_arn
from usage import aws as usage_aws
from usage import services
from usage.aws import TrailBucketGateway, trail_session
from usage.models import TrailFile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("usage-ingest")]


def _gateways(trail_org) -> tuple[TrailBucketGateway, TrailBucketGateway]:
    """(the direct path, get_object only) for the trail source's bucket, each with its own counter."""
    source = trail_org.source

    def session():
        return trail_session(role_arn=source.role_arn, external_id=source.external_id, region=source.region)

    return TrailBucketGateway(session()), TrailBucketGateway(session(), direct_downloads=False)


def _full_get_objects(gateway: TrailBucketGateway) -> list[str]:
    """Keys fetched by the client's own get_object (the fallback), as they happen."""
    seen: list[str] = []

    def note(params, **_):  # the serialised request; its path is the quoted key
        seen.append(unquote(params["url_path"]).lstrip("/"))

    gateway.client.meta.events.register("before-call.s3.GetObject", note)
    return seen


def _log_file(trail_org, reads: int = 5) -> str:
    calls = [
        {"operation": "GetRecord", "caller": caller(CONSUMER), "feature_groups": [group_arn("orders")], "at": at(i)}
        for i in range(reads)
    ]
    trail_org.calls(calls)
    services.trail_sources_list()
    return TrailFile.objects.order_by("id").values_list("key", flat=True).last()


def _outcome(gateway: TrailBucketGateway, bucket: str, key: str):
    """The bytes, or the Pantry error as (class, code, operation, message)."""
    try:
        return b"".join(gateway.object_chunks(bucket=bucket, key=key))
    except aws.AwsError as exc:
        return (type(exc), exc.code, exc.operation, exc.message)


def test_a_log_file_downloads_byte_for_byte_without_a_full_get_object_call(trail_org):
    direct, plain = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    bucket = trail_org.source.bucket
    key = _log_file(trail_org)
    body = _outcome(direct, bucket, key)
    assert body == _outcome(plain, bucket, key) == trail_org.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert json.loads(gzip.decompress(body))["Records"]
    assert fallbacks == []  # served by the presigned GET
    assert direct.counter.counts["GetObject"] == plain.counter.counts["GetObject"] == 1
    assert _outcome(direct, bucket, key) == body  # the kept-alive connection serves the next file


@pytest.mark.parametrize(
    ("error_code", "status", "expected"),
    [
        ("AccessDenied", 403, aws.AwsAccessDenied),
        ("NoSuchKey", 404, aws.AwsNotFound),
        ("InternalError", 500, aws.AwsError),
        ("SlowDown", 503, aws.AwsThrottled),
    ],
)
def test_an_s3_error_ends_exactly_as_get_object_ends(trail_org, settings, error_code, status, expected):
    settings.PANTRY_AWS_MAX_ATTEMPTS = 1  # botocore's retries would spend the fault on their own
    direct, plain = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)
    control.inject_fault(trail_org.url, error_code, service="s3", status=status, count=-1)
    refused = _outcome(direct, bucket, key)
    assert refused == _outcome(plain, bucket, key)
    assert refused[0] is expected and refused[1] == error_code and refused[2] == "GetObject"
    assert fallbacks == [key]
    assert direct.counter.as_dict()["GetObject"] == 2  # the refused presigned GET was an S3 request too


def test_a_missing_object_is_not_found_as_before(trail_org):
    direct, plain = _gateways(trail_org)
    bucket = trail_org.source.bucket
    gone = _outcome(direct, bucket, "AWSLogs/no-such-file.json.gz")
    assert gone == _outcome(plain, bucket, "AWSLogs/no-such-file.json.gz")
    assert gone[:3] == (aws.AwsNotFound, "NoSuchKey", "GetObject")


def test_an_error_the_retry_gets_past_still_downloads_the_file(trail_org):
    direct, plain = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)
    control.inject_fault(trail_org.url, "InternalError", service="s3", status=500, count=1)
    assert _outcome(direct, bucket, key) == _outcome(plain, bucket, key)
    assert fallbacks == [key]


def _object_with_checksum(trail_org, key: str, body: bytes) -> str:
    trail_org.s3().put_object(Bucket=trail_org.source.bucket, Key=key, Body=body, ChecksumAlgorithm="CRC32")
    return key


def test_s3s_checksum_is_checked_as_get_object_checks_it(trail_org):
    direct, plain = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    bucket = trail_org.source.bucket
    # One body (gzip writes the current second into its header: two compressions can differ).
    body = gzip.compress(b'{"Records": []}')
    key = _object_with_checksum(trail_org, "AWSLogs/checked.json.gz", body)
    assert _outcome(direct, bucket, key) == _outcome(plain, bucket, key) == body
    # S3 sends a checksum the bytes do not match (as a corrupted transfer would look).
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    s3_backends[account][partition].buckets[bucket].keys[key].checksum_value = "AAAAAA=="
    corrupt = _outcome(direct, bucket, key)
    assert corrupt == _outcome(plain, bucket, key)
    assert corrupt[:3] == (aws.AwsError, "FlexibleChecksumError", "GetObject")
    assert fallbacks == []  # a 200 whose body fails the check is an error, as get_object's is


def test_a_presigned_url_the_clock_outran_falls_back_to_get_object(trail_org):
    direct, _ = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)
    # Past the URL's lifetime on S3's clock, within the session's hour.
    control.move_clock(trail_org.url, advance=600)
    body = _outcome(direct, bucket, key)
    assert isinstance(body, bytes) and json.loads(gzip.decompress(body))["Records"]
    assert fallbacks == [key]


def test_no_presigned_url_reaches_a_log_line_or_an_error(trail_org, settings, caplog):
    # Everything at DEBUG but botocore, whose DEBUG output shows every request's credentials
    # (header-signed ones too) and which Pantry's LOGGING keeps at WARNING.
    settings.PANTRY_AWS_MAX_ATTEMPTS = 1
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "usage", "portal", "http.client"):
        caplog.set_level(logging.DEBUG, logger=name)
    direct, _ = _gateways(trail_org)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)
    assert isinstance(_outcome(direct, bucket, key), bytes)
    control.inject_fault(trail_org.url, "AccessDenied", service="s3", status=403, count=-1)
    with pytest.raises(aws.AwsAccessDenied) as refused:
        b"".join(direct.object_chunks(bucket=bucket, key=key))
    text = caplog.text + "".join(traceback.format_exception(refused.value))
    assert "X-Amz-Signature" not in text and "X-Amz-Credential" not in text


def _direct_requests(monkeypatch) -> list[str]:
    """Hosts the direct path sends a GET to, as it takes a connection for one."""
    hosts: list[str] = []
    take = usage_aws._Connections.take

    def spy(self):
        hosts.append(self._netloc)
        return take(self)

    monkeypatch.setattr(usage_aws._Connections, "take", spy)
    return hosts


@pytest.mark.parametrize(
    ("error_code", "status"),
    [
        ("AccessDenied", 403),  # e.g. a bucket policy denying query-string auth (s3:authType)
        ("AuthorizationQueryParametersError", 400),
        ("TemporaryRedirect", 307),
    ],
)
def test_after_s3_refuses_a_presigned_get_the_next_files_go_straight_to_get_object(
    trail_org, monkeypatch, caplog, error_code, status
):
    direct, _ = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    sent = _direct_requests(monkeypatch)
    bucket, first = trail_org.source.bucket, _log_file(trail_org)
    second = _log_file(trail_org)
    control.inject_fault(trail_org.url, error_code, service="s3", status=status, count=1)  # the presigned GET's

    with caplog.at_level(logging.INFO, logger="usage.aws"):
        assert isinstance(_outcome(direct, bucket, first), bytes)
        assert isinstance(_outcome(direct, bucket, second), bytes)
        assert isinstance(_outcome(direct, bucket, first), bytes)

    assert len(sent) == 1  # only the refused one
    assert fallbacks == [first, second, first]
    assert direct.counter.as_dict()["GetObject"] == 4  # three files and the refused GET
    [record] = [r for r in caplog.records if r.name == "usage.aws"]
    assert record.levelno == logging.WARNING and str(status) in record.getMessage()
    assert sent[0] in record.getMessage() and "X-Amz-" not in record.getMessage()


def test_a_throttled_presigned_get_pauses_the_direct_path_for_a_while(trail_org, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(usage_aws, "monotonic", lambda: clock[0])
    direct, _ = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    sent = _direct_requests(monkeypatch)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)
    control.inject_fault(trail_org.url, "SlowDown", service="s3", status=503, count=1)

    assert isinstance(_outcome(direct, bucket, key), bytes)  # 503 on the direct GET, then get_object
    clock[0] += usage_aws.DIRECT_PAUSE_AFTER_SERVER_ERROR_SECONDS - 1
    assert isinstance(_outcome(direct, bucket, key), bytes)  # paused: get_object only
    assert (len(sent), fallbacks) == (1, [key, key])

    clock[0] += 1
    assert isinstance(_outcome(direct, bucket, key), bytes)  # the pause is over
    assert (len(sent), fallbacks) == (2, [key, key])


def test_a_missing_object_does_not_turn_the_direct_path_off(trail_org, monkeypatch):
    direct, _ = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    sent = _direct_requests(monkeypatch)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)

    assert _outcome(direct, bucket, "AWSLogs/no-such-file.json.gz")[0] is aws.AwsNotFound
    assert isinstance(_outcome(direct, bucket, key), bytes)
    assert len(sent) == 2
    assert fallbacks == ["AWSLogs/no-such-file.json.gz"]


def test_a_host_the_direct_path_cannot_connect_to_is_left_to_get_object(trail_org, monkeypatch, caplog):
    with socket.socket() as unused:  # a port nothing listens on: connecting is refused
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    monkeypatch.setattr(
        usage_aws._Connections,
        "take",
        lambda self: http.client.HTTPConnection("127.0.0.1", closed_port, timeout=1),
    )
    direct, _ = _gateways(trail_org)
    fallbacks = _full_get_objects(direct)
    sent = _direct_requests(monkeypatch)
    bucket, key = trail_org.source.bucket, _log_file(trail_org)

    with caplog.at_level(logging.INFO, logger="usage.aws"):
        assert isinstance(_outcome(direct, bucket, key), bytes)
        assert isinstance(_outcome(direct, bucket, key), bytes)

    assert len(sent) == 1
    assert fallbacks == [key, key]
    assert direct.counter.as_dict()["GetObject"] == 2  # nothing reached S3 on the direct path
    assert "ConnectionRefusedError" in caplog.text

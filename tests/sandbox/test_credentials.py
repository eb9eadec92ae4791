"""The sandbox checks credentials as AWS does: unknown keys and expired sessions fail, each in its
service's protocol; sessions expire on demand through the control plane."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from sandbox import control
from sandbox.seed import create_reader_role, ensure_bucket

from .conftest import make_client

OWNER = "111111111111"
ROLE = f"arn:aws:iam::{OWNER}:role/PantryCatalogReader"


def _assume(url: str) -> dict:
    return make_client(url, "sts").assume_role(RoleArn=ROLE, RoleSessionName="pantry", ExternalId="ext")["Credentials"]


def _error(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


@pytest.fixture
def owner(clean_sandbox):
    create_reader_role(clean_sandbox.url, OWNER, "ext")
    ensure_bucket(clean_sandbox.url, OWNER, "eu-west-1", "owner-bucket")
    return clean_sandbox.url


def test_unknown_access_keys_fail_in_each_services_protocol(owner):
    unknown = {"AccessKeyId": "AKIAZZZZZZZZZZZZZZZZ", "SecretAccessKey": "x", "SessionToken": None}
    invalid = "The security token included in the request is invalid."

    assert _error(lambda: make_client(owner, "sts", creds=unknown).get_caller_identity()) == (
        403,
        "InvalidClientTokenId",
        invalid,
    )
    assert _error(lambda: make_client(owner, creds=unknown).list_feature_groups()) == (
        400,
        "UnrecognizedClientException",
        invalid,
    )
    status, code, _ = _error(lambda: make_client(owner, "s3", creds=unknown).list_objects_v2(Bucket="owner-bucket"))
    assert (status, code) == (403, "InvalidAccessKeyId")


def test_a_temporary_key_with_a_wrong_session_token_is_invalid(owner):
    creds = {**_assume(owner), "SessionToken": "not-the-token"}

    assert _error(lambda: make_client(owner, "sts", creds=creds).get_caller_identity())[:2] == (
        403,
        "InvalidClientTokenId",
    )


def test_an_expired_session_fails_until_the_role_is_assumed_again(owner):
    creds = _assume(owner)
    sagemaker = make_client(owner, creds=creds)
    sagemaker.list_feature_groups()

    assert control.expire_sessions(owner, role_arn=ROLE) == 1

    expired = "The security token included in the request is expired"
    assert _error(sagemaker.list_feature_groups) == (400, "ExpiredTokenException", expired)
    assert _error(make_client(owner, "sts", creds=creds).get_caller_identity) == (403, "ExpiredToken", expired)
    status, code, _ = _error(lambda: make_client(owner, "s3", creds=creds).list_objects_v2(Bucket="owner-bucket"))
    assert (status, code) == (400, "ExpiredToken")
    fresh = make_client(owner, creds=_assume(owner))
    assert fresh.list_feature_groups()["FeatureGroupSummaries"] == []


def test_expiring_one_session_leaves_the_others(owner):
    first, second = _assume(owner), _assume(owner)

    assert control.expire_sessions(owner, access_key_id=first["AccessKeyId"]) == 1

    assert _error(make_client(owner, creds=first).list_feature_groups)[1] == "ExpiredTokenException"
    make_client(owner, creds=second).list_feature_groups()


def test_latency_faults_slow_requests_and_let_them_through(owner):
    import time

    control.add_latency(owner, 0.3, operation="ListFeatureGroups", count=1)
    sagemaker = make_client(owner)
    started = time.monotonic()
    sagemaker.list_feature_groups()
    assert time.monotonic() - started >= 0.3
    assert control.list_faults(owner)[0]["hits"] == 1


@pytest.mark.parametrize(
    ("route", "body", "message"),
    [
        ("faults", {"service": "sagemaker"}, "bad request: error_code or delay_seconds is required"),
        ("faults", {"error_code": "X", "count": "many"}, "bad request: count must be an integer"),
        (
            "faults",
            {"delay_seconds": "slow"},
            "bad request: delay_seconds must be a number of seconds between 0 and 60",
        ),
        (
            # S3 requests are matched by service, account and Region: an operation here never
            # matched, so the fault silently did nothing (found slowing GetObject for a kill test).
            "faults",
            {"service": "s3", "operation": "GetObject", "delay_seconds": 1},
            "bad request: S3 faults match every S3 request of the service, account and Region; "
            "they cannot name an operation",
        ),
        ("discoverable", {"region": "eu-west-1"}, "bad request: the field owner_account is required"),
        ("discoverable", {"owner_account": "1", "region": "r", "consumer_accounts": 5}, None),
        ("feature-group-access", {"arn": "a", "consumer_account": "1", "permission": "Root"}, None),
        ("search-lag", {"seconds": "soon"}, "bad request: seconds must be a number"),
        ("search-lag", {"seconds": -1}, "bad request: seconds must be zero or more"),
        ("sessions/expire", [1, 2], "body must be a JSON object"),
    ],
)
def test_control_plane_errors_are_plain_messages_never_python_reprs(clean_sandbox, route, body, message):
    request = urllib.request.Request(
        f"{clean_sandbox.url}/_sandbox/{route}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 -- loopback

    assert exc.value.code == 400
    error = json.loads(exc.value.read())["error"]
    if message:
        assert error == message
    for python in ("Error(", "Exception(", "<class", "object is not", "'int'", "Traceback"):
        assert python not in error


def test_moving_the_sandbox_clock_past_a_sessions_hour_expires_it_but_not_later_sessions(owner):
    import datetime as dt

    before = make_client(owner, creds=_assume(owner))
    before.list_feature_groups()

    control.move_clock(owner, advance=dt.timedelta(hours=1, minutes=1))

    assert _error(before.list_feature_groups)[1] == "ExpiredTokenException"
    after = make_client(owner, creds=_assume(owner))
    after.list_feature_groups()

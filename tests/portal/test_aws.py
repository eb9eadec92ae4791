"""Pantry's AWS edge: error translation, and sessions into accounts through the sandbox's STS."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.utils
import pytest

from portal import aws
from tests.aws_fixtures import sandbox_owner_account

ACCOUNT = "111111111111"


def _client_error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "the message"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Search"
    )


@pytest.mark.parametrize(
    ("code", "cls", "summary"),
    [
        ("ExpiredToken", aws.AwsCredentialsExpired, "credentials expired"),
        ("ExpiredTokenException", aws.AwsCredentialsExpired, "credentials expired"),
        ("RequestExpired", aws.AwsCredentialsExpired, "credentials expired"),
        ("InvalidClientTokenId", aws.AwsCredentialsInvalid, "invalid credentials"),
        ("UnrecognizedClientException", aws.AwsCredentialsInvalid, "invalid credentials"),
        ("AccessDeniedException", aws.AwsAccessDenied, "access denied"),
        ("ThrottlingException", aws.AwsThrottled, "throttled by AWS"),
        ("ResourceNotFound", aws.AwsNotFound, "not found"),
        ("InternalFailure", aws.AwsError, "failing"),
    ],
)
def test_aws_error_codes_become_pantry_errors_with_a_health_summary(code, cls, summary):
    error = aws.translate_error(_client_error(code))

    assert type(error) is cls
    assert (error.code, error.operation, error.message) == (code, "Search", "the message")
    assert aws.error_summary(code) == summary


@pytest.mark.parametrize(
    "value",
    [
        "Fri, 27 Nov 2026 11:52:56 GMT",  # S3's Last-Modified header
        "Mon, 01 Jan 2024 00:00:00 GMT",
        "2026-11-27T11:52:56.000Z",  # ListObjectsV2's LastModified
        "2026-11-27T11:52:56Z",
        "2026-11-27T11:52:56.123456Z",
        "2026-11-27T11:52:56+02:00",  # not a fast path: botocore's own parser
        "Fri, 27 Nov 26 11:52:56 GMT",  # a 2-digit year: botocore's (2026), not year 26
        "Fri, 7 Nov 2026 11:52:56 GMT",
        "Fri,  27 Nov 2026 11:52:56 GMT",
        "2026-11-27T11:52Z",
        "20261127T115256Z",
        "1764244376.5",  # epoch seconds (JSON services)
        1764244376,
    ],
)
def test_aws_timestamps_parse_to_what_botocore_returns(value):
    parsed = aws.parse_aws_timestamp(value)
    expected = botocore.utils.parse_timestamp(value)

    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_expired_credentials_are_not_reported_as_access_denied():
    error = aws.translate_error(_client_error("ExpiredToken", 403))

    assert not isinstance(error, aws.AwsAccessDenied)
    assert isinstance(error, aws.AwsCredentialsError)


@pytest.mark.django_db
def test_an_account_session_assumes_the_role_once_per_process(aws_sandbox):
    account = sandbox_owner_account(aws_sandbox.url, account_id=ACCOUNT, name="central")
    role = aws.AccountRole(account_id=ACCOUNT, role_arn=account.role_arn, external_id=account.external_id)
    first, second = aws.CallCounter(), aws.CallCounter()

    one = aws.account_session(role, "eu-west-1", counter=first)
    one.client("sagemaker").list_feature_groups()
    two = aws.account_session(role, "us-east-1", counter=second)
    two.client("sagemaker").list_feature_groups()

    assert first.as_dict() == {"AssumeRole": 1, "ListFeatureGroups": 1}
    assert second.as_dict() == {"ListFeatureGroups": 1}
    identity = two.client("sts").get_caller_identity()
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/PantryCatalogReader/")


@pytest.mark.django_db
def test_a_wrong_external_id_is_access_denied_on_assume_role(aws_sandbox):
    account = sandbox_owner_account(aws_sandbox.url, account_id=ACCOUNT, name="central")
    role = aws.AccountRole(account_id=ACCOUNT, role_arn=account.role_arn, external_id="not-the-external-id")

    with pytest.raises(aws.AwsAccessDenied) as info:
        aws.account_session(role, "eu-west-1")

    assert info.value.operation == "AssumeRole"
    assert info.value.code == "AccessDenied"


@pytest.mark.django_db
def test_a_session_aws_rejects_as_expired_is_renewed_and_a_refused_renewal_is_access_denied(aws_sandbox):
    from catalog.gateways.featurestore import FeatureStoreGateway
    from sandbox import control, seed

    account = sandbox_owner_account(aws_sandbox.url, account_id=ACCOUNT, name="central")
    role = aws.AccountRole(account_id=ACCOUNT, role_arn=account.role_arn, external_id=account.external_id)
    counter = aws.CallCounter()
    gateway = FeatureStoreGateway(aws.account_session(role, "eu-west-1", counter=counter))

    control.expire_sessions(aws_sandbox.url, role_arn=role.role_arn)
    assert list(gateway.feature_group_pages()) == [[]]  # renewed, the call retried once
    assert counter.as_dict() == {"AssumeRole": 2, "Search": 1}

    # The account withdrew its trust in Pantry: the next renewal is refused.
    seed.admin_client(aws_sandbox.url, "iam", ACCOUNT).update_assume_role_policy(
        RoleName="PantryCatalogReader", PolicyDocument=seed.trust_policy("another-external-id")
    )
    control.expire_sessions(aws_sandbox.url, role_arn=role.role_arn)
    with pytest.raises(aws.AwsAccessDenied) as info:
        list(gateway.feature_group_pages())
    assert info.value.operation == "AssumeRole"


def test_an_account_role_does_not_show_its_external_id_in_logs_or_tracebacks():
    role = aws.AccountRole("111111111111", "arn:aws:iam::111111111111:role/PantryAccess", "pantry-ext-5f2c9a")

    assert "pantry-ext-5f2c9a" not in repr(role) and "pantry-ext-5f2c9a" not in str(role)
    assert "arn:aws:iam::111111111111:role/PantryAccess" in repr(role)
    # Still part of the role's identity (session cache key): a different external id is a different role.
    assert role != aws.AccountRole(role.account_id, role.role_arn, "pantry-other")


@pytest.mark.parametrize("value", ["Fri, 27 Nov 2026 11:52:56 GMT", "2026-11-27T11:52:56.000Z"])
def test_the_forms_aws_sends_skip_dateutil(value, monkeypatch):
    def slow(_value):
        raise AssertionError("botocore's general parser was called")

    monkeypatch.setattr(botocore.utils, "parse_timestamp", slow)
    assert aws.parse_aws_timestamp(value).year == 2026


@pytest.fixture
def offline_account(monkeypatch, tmp_path):
    """An account session made as Pantry makes one, with AssumeRole answered offline and no
    endpoint URL anywhere in the environment or the shared config file."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    monkeypatch.setattr(
        aws,
        "_assume_role",
        lambda role: {"access_key": "AKIAOFFLINE", "secret_key": "secret", "token": "token", "expiry_time": expiry},
    )
    aws.clear_session_cache()
    role = aws.AccountRole(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/PantryTrailReader", "external")
    yield lambda region: aws.account_session(role, region)
    aws.clear_session_cache()


def _presigned_host_and_path(session: aws.AccountSession, bucket: str) -> tuple[str, str]:
    url = session.client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "AWSLogs/f.gz"})
    parts = urlsplit(url)
    return parts.netloc, parts.path


@pytest.mark.parametrize("region", ["af-south-1", "eu-west-1", "me-central-1"])
def test_presigned_urls_name_the_buckets_regional_host_not_s3s_global_one(offline_account, region):
    # The global host (bucket.s3.amazonaws.com) cannot reach buckets in regions launched after
    # 2019-03-20 (IllegalLocationConstraintException) and redirects young buckets elsewhere.
    session = offline_account(region)

    assert _presigned_host_and_path(session, "trail-bucket") == (
        f"trail-bucket.s3.{region}.amazonaws.com",
        "/AWSLogs/f.gz",
    )
    # A dotted name cannot be a virtual host under S3's wildcard certificate: path-style, regional.
    assert _presigned_host_and_path(session, "trails.example.com") == (
        f"s3.{region}.amazonaws.com",
        "/trails.example.com/AWSLogs/f.gz",
    )


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_presigned_urls_stay_path_style_on_a_configured_endpoint(offline_account, monkeypatch, variable):
    monkeypatch.setenv(variable, "http://localhost:5000")

    assert _presigned_host_and_path(offline_account("af-south-1"), "trail-bucket") == (
        "localhost:5000",
        "/trail-bucket/AWSLogs/f.gz",
    )


def test_an_endpoint_url_in_the_shared_config_file_counts_as_configured(offline_account, tmp_path):
    (tmp_path / "config").write_text("[default]\nendpoint_url = http://localhost:5000\n")

    assert _presigned_host_and_path(offline_account("eu-west-1"), "trail-bucket") == (
        "localhost:5000",
        "/trail-bucket/AWSLogs/f.gz",
    )

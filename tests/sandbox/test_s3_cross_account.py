"""Another account reaches a bucket only through its owner's bucket policy, as on S3.

AWS: a request from another account needs the caller's own permission AND the bucket owner's
grant; without a bucket policy allowing it, S3 answers 403 AccessDenied
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-walkthroughs-managing-access-example2.html).
Every request goes over HTTP through boto3, with the fast path for plain reads on and off.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import s3_fast
from sandbox.seed import admin_client, create_reader_role, ensure_bucket

from .conftest import make_client

OWNER = "111111111111"  # owns the bucket
OTHER = "222222222222"  # an account with a role the platform (123456789012) may assume
PLATFORM = "123456789012"  # the "testing" key's account (moto's default)
BUCKET = "owner-data-bucket"
KEY = "reports/2026/11/27/part-0001.json"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/PantryCatalogReader"


@pytest.fixture(params=["fast path", "moto"])
def path(request, monkeypatch):
    """Each test runs with the fast path for plain reads on, then off (moto answers every read)."""
    monkeypatch.setattr(s3_fast, "enabled", request.param == "fast path")
    return request.param


# For the tests whose requests the fast path never answers (writes, policy calls, subresources): the
# "fast path" run would repeat the "moto" one.
moto_only = pytest.mark.parametrize("path", ["moto"], indirect=True)


@pytest.fixture
def world(clean_sandbox, path):
    url = clean_sandbox.url
    ensure_bucket(url, OWNER, "eu-west-1", BUCKET)
    owner = admin_client(url, "s3", OWNER, "eu-west-1")
    owner.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"rows": 3}')
    owner.put_object(Bucket=BUCKET, Key="private/secret.txt", Body=b"secret")
    create_reader_role(url, OTHER, "ext")
    creds = make_client(url, "sts").assume_role(RoleArn=OTHER_ROLE, RoleSessionName="reader", ExternalId="ext")
    return {
        "url": url,
        "owner": owner,
        "role": make_client(url, "s3", creds=creds["Credentials"]),  # a session in OTHER
        "platform": make_client(url, "s3"),  # the "testing" key: PLATFORM
    }


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _set_policy(world, *statements: dict) -> None:
    """The owner puts a bucket policy of these statements on BUCKET."""
    world["owner"].put_bucket_policy(Bucket=BUCKET, Policy=_policy(*statements))


def _denied(call) -> ClientError:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return exc.value


def _access_denied(call) -> None:
    error = _denied(call)
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == "Access Denied"


def test_another_account_can_do_nothing_without_a_bucket_policy(world):
    for s3 in (world["role"], world["platform"]):
        _access_denied(lambda s3=s3: s3.get_object(Bucket=BUCKET, Key=KEY))
        _access_denied(lambda s3=s3: s3.list_objects_v2(Bucket=BUCKET))
        _access_denied(lambda s3=s3: s3.list_objects(Bucket=BUCKET, Prefix="reports/"))
        _access_denied(lambda s3=s3: s3.put_object(Bucket=BUCKET, Key="planted.txt", Body=b"x"))
        _access_denied(lambda s3=s3: s3.delete_object(Bucket=BUCKET, Key=KEY))
        _access_denied(lambda s3=s3: s3.get_bucket_location(Bucket=BUCKET))
        _access_denied(lambda s3=s3: s3.get_bucket_policy(Bucket=BUCKET))
        _access_denied(lambda s3=s3: s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy()))
        _access_denied(lambda s3=s3: s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": KEY}]}))
        # HEAD responses carry no body: botocore reports the status as the code, as against S3.
        assert _denied(lambda s3=s3: s3.head_object(Bucket=BUCKET, Key=KEY)).response["Error"]["Code"] == "403"
        assert _denied(lambda s3=s3: s3.head_bucket(Bucket=BUCKET)).response["Error"]["Code"] == "403"
    listed = world["owner"].list_objects_v2(Bucket=BUCKET)["Contents"]
    assert sorted(o["Key"] for o in listed) == ["private/secret.txt", KEY]  # nothing planted, nothing deleted


def test_the_refusal_is_s3s_error_document(world):
    captured = {}

    def capture(http_response, **_):
        captured["status"] = http_response.status_code
        captured["content_type"] = http_response.headers.get("Content-Type")
        captured["body"] = http_response.content

    world["platform"].meta.events.register("after-call.s3.GetObject", capture)
    _access_denied(lambda: world["platform"].get_object(Bucket=BUCKET, Key=KEY))
    assert captured["status"] == 403
    assert captured["content_type"] == "application/xml"
    error = ElementTree.fromstring(captured["body"])
    assert error.tag == "Error"
    assert [child.tag for child in error] == ["Code", "Message", "RequestId", "HostId"]
    assert error.findtext("Code") == "AccessDenied"


def test_a_grant_to_the_accounts_root_allows_only_the_granted_action_and_objects(world):
    _set_policy(
        world,
        {
            "Sid": "OtherReadsReports",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/reports/*",
        },
    )
    role = world["role"]
    assert role.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b'{"rows": 3}'
    assert role.head_object(Bucket=BUCKET, Key=KEY)["ContentLength"] == len(b'{"rows": 3}')
    _access_denied(lambda: role.get_object(Bucket=BUCKET, Key="private/secret.txt"))
    _access_denied(lambda: role.list_objects_v2(Bucket=BUCKET, Prefix="reports/"))
    _access_denied(lambda: role.put_object(Bucket=BUCKET, Key="reports/planted.json", Body=b"x"))
    # The grant names OTHER, not every account.
    _access_denied(lambda: world["platform"].get_object(Bucket=BUCKET, Key=KEY))


@pytest.mark.parametrize(
    "principal",
    [
        OTHER,
        [f"arn:aws:iam::{PLATFORM}:root", f"arn:aws:iam::{OTHER}:root"],
        {"AWS": OTHER_ROLE},
        {"AWS": [f"arn:aws:sts::{OTHER}:assumed-role/PantryCatalogReader/reader"]},
        "*",
        {"AWS": "*"},
    ],
    ids=["account id", "list of roots", "role", "role session", "anyone", "any AWS principal"],
)
def test_every_way_of_naming_the_caller_grants(world, principal):
    if isinstance(principal, str) and principal != "*":
        principal = {"AWS": principal}
    if isinstance(principal, list):
        principal = {"AWS": principal}
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:Get*", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        },
    )
    role = world["role"]
    assert role.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b'{"rows": 3}'
    assert [o["Key"] for o in role.list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]] == [KEY]
    _access_denied(lambda: role.put_object(Bucket=BUCKET, Key="reports/planted.json", Body=b"x"))


def test_a_grant_to_a_role_does_not_cover_another_account(world):
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER_ROLE},
            "Action": "s3:*",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )
    world["role"].put_object(Bucket=BUCKET, Key="reports/from-other.json", Body=b"{}")
    assert world["owner"].get_object(Bucket=BUCKET, Key="reports/from-other.json")["Body"].read() == b"{}"
    _access_denied(lambda: world["platform"].get_object(Bucket=BUCKET, Key=KEY))


def test_an_explicit_deny_beats_an_allow(world):
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/private/*",
        },
    )
    _access_denied(lambda: world["role"].get_object(Bucket=BUCKET, Key="private/secret.txt"))
    assert world["role"].get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b'{"rows": 3}'
    assert [o["Key"] for o in world["role"].list_objects_v2(Bucket=BUCKET)["Contents"]] == ["private/secret.txt", KEY]


def test_a_conditional_grant_is_not_taken_on_trust(world):
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        },
    )
    _access_denied(lambda: world["role"].get_object(Bucket=BUCKET, Key=KEY))


def test_the_owners_own_principals_need_no_policy(clean_sandbox, path):
    url = clean_sandbox.url
    ensure_bucket(url, OWNER, "eu-west-1", BUCKET)
    owner = admin_client(url, "s3", OWNER, "eu-west-1")
    owner.put_object(Bucket=BUCKET, Key=KEY, Body=b"{}")
    create_reader_role(url, OWNER, "ext")
    creds = make_client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{OWNER}:role/PantryCatalogReader", RoleSessionName="reader", ExternalId="ext"
    )["Credentials"]
    same_account = make_client(url, "s3", creds=creds)  # a role in the bucket's account, as trail readers use
    assert same_account.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"{}"
    assert same_account.head_object(Bucket=BUCKET, Key=KEY)["ContentLength"] == 2
    assert [o["Key"] for o in same_account.list_objects_v2(Bucket=BUCKET)["Contents"]] == [KEY]
    same_account.put_object(Bucket=BUCKET, Key="written.txt", Body=b"w")
    assert owner.get_object(Bucket=BUCKET, Key="written.txt")["Body"].read() == b"w"
    # The platform's own bucket, read with its own key.
    platform = make_client(url, "s3")
    platform.create_bucket(Bucket="platform-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    platform.put_object(Bucket="platform-bucket", Key="a", Body=b"a")
    assert platform.get_object(Bucket="platform-bucket", Key="a")["Body"].read() == b"a"


def test_another_accounts_bucket_name_is_still_taken(world):
    with pytest.raises(ClientError) as exc:
        world["platform"].create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert exc.value.response["Error"]["Code"] == "BucketAlreadyExists"


def test_copying_from_another_accounts_bucket_needs_its_grant(world):
    platform = world["platform"]
    platform.create_bucket(Bucket="platform-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    source = {"Bucket": BUCKET, "Key": KEY}
    _access_denied(lambda: platform.copy_object(Bucket="platform-bucket", Key="copy.json", CopySource=source))
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": PLATFORM},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )
    platform.copy_object(Bucket="platform-bucket", Key="copy.json", CopySource=source)
    assert platform.get_object(Bucket="platform-bucket", Key="copy.json")["Body"].read() == b'{"rows": 3}'


OTHER_SESSION = f"arn:aws:sts::{OTHER}:assumed-role/PantryCatalogReader/reader"
ANYONE_READS = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/*",
}


# moto itself applies a Deny with NotPrincipal to everyone on object requests (it does not know
# the caller), so these tests list the bucket, which moto leaves to this module.
ANYONE_LISTS = {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}


def _deny_everyone_but(*names: str) -> dict:
    return {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": list(names)},
        "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{BUCKET}",
    }


def test_a_deny_with_not_principal_naming_only_the_account_still_denies_its_role_sessions(world):
    # AWS checks a role session as the account, then the role, then the session: the exemption
    # holds only when every one is listed.
    world["owner"].put_bucket_policy(
        Bucket=BUCKET, Policy=_policy(ANYONE_LISTS, _deny_everyone_but(f"arn:aws:iam::{OTHER}:root"))
    )
    _access_denied(lambda: world["role"].list_objects_v2(Bucket=BUCKET))
    _access_denied(lambda: world["platform"].list_objects_v2(Bucket=BUCKET))


def test_a_deny_with_not_principal_naming_the_account_role_and_session_exempts_that_session(world):
    _set_policy(world, ANYONE_LISTS, _deny_everyone_but(f"arn:aws:iam::{OTHER}:root", OTHER_ROLE, OTHER_SESSION))
    assert [o["Key"] for o in world["role"].list_objects_v2(Bucket=BUCKET)["Contents"]] == ["private/secret.txt", KEY]
    _access_denied(lambda: world["platform"].list_objects_v2(Bucket=BUCKET))


def test_an_allow_with_not_principal_grants_nothing(world):
    # NotPrincipal is only supported with Deny; an Allow with it must not open the bucket.
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": f"arn:aws:iam::{PLATFORM}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )
    _access_denied(lambda: world["role"].get_object(Bucket=BUCKET, Key=KEY))


@pytest.mark.parametrize("element", ["Resource", "Action"])
def test_a_deny_with_a_policy_variable_applies(world, element):
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    deny[element] = f"arn:aws:s3:::{BUCKET}/${{aws:username}}/*" if element == "Resource" else "s3:${aws:username}"
    _set_policy(world, ANYONE_READS, deny)
    _access_denied(lambda: world["role"].get_object(Bucket=BUCKET, Key=KEY))


@moto_only
def test_bucket_policy_calls_from_another_account_are_not_allowed_even_when_granted(world):
    # S3: without the permission 403 AccessDenied; with it, but outside the owner's account,
    # 405 MethodNotAllowed (GetBucketPolicy, PutBucketPolicy, DeleteBucketPolicy API reference).
    role = world["role"]
    _access_denied(lambda: role.delete_bucket_policy(Bucket=BUCKET))
    granted = _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
            "Resource": f"arn:aws:s3:::{BUCKET}",
        }
    )
    world["owner"].put_bucket_policy(Bucket=BUCKET, Policy=granted)
    calls = [
        lambda: role.get_bucket_policy(Bucket=BUCKET),
        lambda: role.put_bucket_policy(Bucket=BUCKET, Policy=_policy(ANYONE_READS)),
        lambda: role.delete_bucket_policy(Bucket=BUCKET),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
        assert exc.value.response["Error"]["Code"] == "MethodNotAllowed"
        assert exc.value.response["Error"]["Message"] == "The specified method is not allowed against this resource."
    assert json.loads(world["owner"].get_bucket_policy(Bucket=BUCKET)["Policy"]) == json.loads(granted)
    _access_denied(lambda: world["platform"].get_bucket_policy(Bucket=BUCKET))


def _grant(world, *actions: str) -> None:
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": [f"s3:{action}" for action in actions],
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )


@moto_only
def test_with_a_version_id_object_subresources_need_their_version_actions(world):
    world["owner"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = world["owner"].put_object(Bucket=BUCKET, Key=KEY, Body=b"v2")["VersionId"]
    role = world["role"]
    _grant(world, "GetObject", "GetObjectAcl", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging")
    assert role.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"] == []
    tags = {"TagSet": [{"Key": "k", "Value": "v"}]}
    for call in (
        lambda: role.get_object_tagging(Bucket=BUCKET, Key=KEY, VersionId=version),
        lambda: role.put_object_tagging(Bucket=BUCKET, Key=KEY, VersionId=version, Tagging=tags),
        lambda: role.delete_object_tagging(Bucket=BUCKET, Key=KEY, VersionId=version),
        lambda: role.get_object_acl(Bucket=BUCKET, Key=KEY, VersionId=version),
        lambda: role.put_object_acl(Bucket=BUCKET, Key=KEY, VersionId=version, ACL="private"),
        lambda: role.get_object_attributes(Bucket=BUCKET, Key=KEY, VersionId=version, ObjectAttributes=["ETag"]),
    ):
        _access_denied(call)
    _grant(world, "GetObjectVersion", "GetObjectVersionAcl", "GetObjectVersionTagging", "GetObjectVersionAttributes")
    assert role.get_object_tagging(Bucket=BUCKET, Key=KEY, VersionId=version)["TagSet"] == []
    assert role.get_object_acl(Bucket=BUCKET, Key=KEY, VersionId=version)["Grants"]
    attributes = role.get_object_attributes(Bucket=BUCKET, Key=KEY, VersionId=version, ObjectAttributes=["ETag"])
    assert attributes["ETag"]


@moto_only
def test_get_object_attributes_also_needs_the_read_permission(world):
    _grant(world, "GetObjectAttributes")
    _access_denied(lambda: world["role"].get_object_attributes(Bucket=BUCKET, Key=KEY, ObjectAttributes=["ETag"]))
    _grant(world, "GetObject", "GetObjectAttributes")
    assert world["role"].get_object_attributes(Bucket=BUCKET, Key=KEY, ObjectAttributes=["ObjectSize"])["ObjectSize"]


@moto_only
def test_deleting_versions_in_a_batch_needs_delete_object_version(world):
    world["owner"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = world["owner"].put_object(Bucket=BUCKET, Key=KEY, Body=b"v2")["VersionId"]
    _grant(world, "DeleteObject")
    versioned = {"Objects": [{"Key": KEY, "VersionId": version}]}
    _access_denied(lambda: world["role"].delete_objects(Bucket=BUCKET, Delete=versioned))
    assert world["owner"].get_object(Bucket=BUCKET, Key=KEY, VersionId=version)["Body"].read() == b"v2"
    _grant(world, "DeleteObjectVersion")
    assert world["role"].delete_objects(Bucket=BUCKET, Delete=versioned)["Deleted"][0]["VersionId"] == version


@moto_only
def test_writing_an_object_with_an_acl_or_tags_needs_those_permissions_too(world):
    role = world["role"]
    _grant(world, "PutObject")
    role.put_object(Bucket=BUCKET, Key="reports/plain.json", Body=b"{}")
    _access_denied(lambda: role.put_object(Bucket=BUCKET, Key="reports/a.json", Body=b"{}", ACL="public-read"))
    _access_denied(lambda: role.put_object(Bucket=BUCKET, Key="reports/a.json", Body=b"{}", GrantRead=f"id={'0' * 64}"))
    _access_denied(lambda: role.put_object(Bucket=BUCKET, Key="reports/a.json", Body=b"{}", Tagging="team=data"))
    _access_denied(lambda: role.create_multipart_upload(Bucket=BUCKET, Key="reports/a.json", ACL="public-read"))
    _access_denied(lambda: role.create_multipart_upload(Bucket=BUCKET, Key="reports/a.json", Tagging="team=data"))
    _access_denied(
        lambda: role.copy_object(
            Bucket=BUCKET, Key="reports/copy.json", CopySource={"Bucket": BUCKET, "Key": KEY}, ACL="public-read"
        )
    )
    _grant(world, "PutObject", "PutObjectAcl", "PutObjectTagging")
    role.put_object(
        Bucket=BUCKET, Key="reports/a.json", Body=b"{}", ACL="bucket-owner-full-control", Tagging="team=data"
    )
    assert world["owner"].get_object(Bucket=BUCKET, Key="reports/a.json")["Body"].read() == b"{}"


def _platform_client(url: str, signature_version: str):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version=signature_version, retries={"max_attempts": 1, "mode": "standard"}),
    )


def _raw_access_denied(response: requests.Response) -> None:
    assert response.status_code == 403, response.content
    assert ElementTree.fromstring(response.content).findtext("Code") == "AccessDenied"


def _grant_platform_reads(world) -> None:
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": PLATFORM},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )


def test_a_sigv2_signed_request_is_checked_like_any_other(world):
    # SigV2 header auth ("Authorization: AWS AKID:signature") and SigV2 presigned URLs (AWSAccessKeyId=).
    v2 = _platform_client(world["url"], "s3")
    _access_denied(lambda: v2.get_object(Bucket=BUCKET, Key=KEY))
    presigned = v2.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY})
    assert "AWSAccessKeyId=" in presigned
    _raw_access_denied(requests.get(presigned, timeout=10))
    _grant_platform_reads(world)
    assert v2.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b'{"rows": 3}'
    assert requests.get(presigned, timeout=10).content == b'{"rows": 3}'


def test_a_sigv4a_signed_request_is_checked_like_any_other(world):
    # SigV4A's credential scope has no Region: AKID/DATE/s3/aws4_request.
    url = f"{world['url']}/{BUCKET}/{KEY}"
    authorization = (
        "AWS4-ECDSA-P256-SHA256 Credential=testing/20261127/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=3045022100"
    )
    headers = {"Authorization": authorization, "X-Amz-Date": "20261127T120000Z", "X-Amz-Region-Set": "*"}
    _raw_access_denied(requests.get(url, headers=headers, timeout=10))
    _grant_platform_reads(world)
    assert requests.get(url, headers=headers, timeout=10).content == b'{"rows": 3}'


@moto_only
@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_signed_post_upload_is_checked_like_any_other(world, signature_version):
    # Browser-based uploads carry the credential in the form (X-Amz-Credential, or AWSAccessKeyId for SigV2).
    client = _platform_client(world["url"], signature_version)
    post = client.generate_presigned_post(BUCKET, "reports/${filename}")
    assert {"x-amz-credential", "awsaccesskeyid"} & {name.lower() for name in post["fields"]}

    def upload() -> requests.Response:
        return requests.post(post["url"], data=post["fields"], files={"file": ("posted.json", b"{}")}, timeout=10)

    _raw_access_denied(upload())
    assert "reports/posted.json" not in [o["Key"] for o in world["owner"].list_objects_v2(Bucket=BUCKET)["Contents"]]
    _grant_platform_reads(world)
    assert upload().status_code == 204
    assert world["owner"].get_object(Bucket=BUCKET, Key="reports/posted.json")["Body"].read() == b"{}"


@pytest.mark.parametrize(
    "signed",
    [
        {"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=testing, SignedHeaders=host, Signature=00"}},
        {"params": {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": "testing", "X-Amz-Signature": "00"}},
        {"headers": {"Authorization": "Bearer something"}},
    ],
    ids=["header without a scope", "presigned URL without a scope", "unknown scheme"],
)
def test_a_request_signed_by_no_readable_key_is_refused(world, signed):
    _raw_access_denied(requests.get(f"{world['url']}/{BUCKET}/{KEY}", timeout=10, **signed))


def test_an_anonymous_request_is_left_to_moto(world):
    world["owner"].put_object(Bucket=BUCKET, Key="public.txt", Body=b"hello", ACL="public-read")
    assert requests.get(f"{world['url']}/{BUCKET}/public.txt", timeout=10).content == b"hello"


def test_a_question_mark_in_a_copy_sources_key_is_part_of_the_key(world):
    # botocore sends the key URL-encoded ("data%3Fv.json"); only a literal "?" starts the versionId.
    platform = world["platform"]
    platform.create_bucket(Bucket="platform-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    world["owner"].put_object(Bucket=BUCKET, Key="data?v.json", Body=b"q")
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": PLATFORM},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*.json",
        },
    )
    source = {"Bucket": BUCKET, "Key": "data?v.json"}
    platform.copy_object(Bucket="platform-bucket", Key="copy.json", CopySource=source)
    assert platform.get_object(Bucket="platform-bucket", Key="copy.json")["Body"].read() == b"q"


def test_a_subresource_listing_with_its_options_maps_to_its_action(world):
    _set_policy(
        world,
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": ["s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:GetInventoryConfiguration"],
            "Resource": f"arn:aws:s3:::{BUCKET}",
        },
    )
    role = world["role"]
    versions = role.list_object_versions(
        Bucket=BUCKET,
        Prefix="reports/",
        KeyMarker="reports/",
        VersionIdMarker="null",
        MaxKeys=10,
        Delimiter="/",
        EncodingType="url",
    )
    assert versions["Prefix"] == "reports/"
    uploads = role.list_multipart_uploads(
        Bucket=BUCKET,
        Prefix="reports/",
        KeyMarker="reports/",
        UploadIdMarker="x",
        MaxUploads=10,
        Delimiter="/",
        EncodingType="url",
    )
    assert uploads.get("Uploads", []) == []
    # ListBucketInventoryConfigurations (?inventory&continuation-token=) needs s3:GetInventoryConfiguration.
    inventories = role.list_bucket_inventory_configurations(Bucket=BUCKET, ContinuationToken="t")
    assert inventories.get("InventoryConfigurationList", []) == []
    _access_denied(lambda: world["platform"].list_object_versions(Bucket=BUCKET, Prefix="reports/"))
    _access_denied(lambda: world["platform"].list_multipart_uploads(Bucket=BUCKET, MaxUploads=10))


def test_a_sigv4_presigned_url_is_checked_like_any_other(world):
    # Query-string authentication: the credential scope is in X-Amz-Credential, and the request is
    # the s3:GetObject it presigns.
    v4 = _platform_client(world["url"], "s3v4")
    presigned = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY})
    assert "X-Amz-Credential=" in presigned
    _raw_access_denied(requests.get(presigned, timeout=10))
    _grant_platform_reads(world)
    assert requests.get(presigned, timeout=10).content == b'{"rows": 3}'
    other_key = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "private/secret.txt"})
    assert requests.get(other_key, timeout=10).status_code == 200  # the grant covers every object
    listing = v4.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET})
    _raw_access_denied(requests.get(listing, timeout=10))  # s3:ListBucket is not granted

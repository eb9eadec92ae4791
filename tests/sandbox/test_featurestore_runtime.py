"""Feature Store runtime (online store) in the sandbox, and the RAM permissions that govern it across accounts."""

from __future__ import annotations

from botocore.exceptions import ClientError

from .model_check import ResponseRecorder
from .ram_helpers import OUTSIDER, OWNER, READ_ONLY, READ_WRITE, create_group, fg_arn, fresh_client, share


def record(customer: str, when: float, score: str) -> list[dict]:
    return [
        {"FeatureName": "customer_id", "ValueAsString": customer},
        {"FeatureName": "event_time", "ValueAsString": str(when)},
        {"FeatureName": "score", "ValueAsString": score},
    ]


def error(call, **kwargs) -> tuple[str, int]:
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("the call succeeded")


def test_owner_puts_gets_and_deletes_records(clean_sandbox):
    url = clean_sandbox.url
    create_group(url, "orders_features")
    runtime = fresh_client(url, "sagemaker-featurestore-runtime", OWNER)
    recorder = ResponseRecorder(runtime)
    runtime.put_record(FeatureGroupName="orders_features", Record=record("c-1", 1_700_000_000, "0.25"))
    runtime.put_record(
        FeatureGroupName="orders_features", Record=record("c-1", 1_600_000_000, "0.99")
    )  # older: ignored
    got = runtime.get_record(FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-1")
    assert {f["FeatureName"]: f["ValueAsString"] for f in got["Record"]}["score"] == "0.25"
    only = runtime.get_record(
        FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-1", FeatureNames=["score"]
    )
    assert only["Record"] == [{"FeatureName": "score", "ValueAsString": "0.25"}]
    assert "Record" not in runtime.get_record(FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-2")
    batch = runtime.batch_get_record(
        Identifiers=[{"FeatureGroupName": "orders_features", "RecordIdentifiersValueAsString": ["c-1", "c-2"]}]
    )
    assert [r["RecordIdentifierValueAsString"] for r in batch["Records"]] == ["c-1"] and batch["Errors"] == []
    runtime.delete_record(
        FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-1", EventTime="1700000001"
    )
    assert "Record" not in runtime.get_record(FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-1")

    assert error(runtime.put_record, FeatureGroupName="orders_features", Record=record("c-3", 1, "high")) == (
        "ValidationError",
        400,
    )
    assert error(runtime.put_record, FeatureGroupName="orders_features", Record=[record("c-3", 1, "1")[0]]) == (
        "ValidationError",
        400,
    )
    assert error(runtime.get_record, FeatureGroupName="nope", RecordIdentifierValueAsString="c-1") == (
        "ResourceNotFound",
        404,
    )
    assert recorder.problems() == []
    assert recorder.error_problems() == []


def test_other_accounts_use_records_only_as_far_as_their_ram_permission_goes(org):
    url = org["url"]
    arn = fg_arn("orders_features")
    fresh_client(url, "sagemaker-featurestore-runtime", OWNER).put_record(
        FeatureGroupName="orders_features", Record=record("c-1", 1_700_000_000, "0.25")
    )
    outsider = fresh_client(url, "sagemaker-featurestore-runtime", OUTSIDER)
    recorder = ResponseRecorder(outsider)
    get = {"FeatureGroupName": arn, "RecordIdentifierValueAsString": "c-1"}
    assert error(outsider.get_record, **get) == ("AccessForbidden", 403)

    read_only = share(url, [OUTSIDER], [arn], permission=READ_ONLY)
    owner_ram = fresh_client(url, "ram", OWNER)
    outsider_ram = fresh_client(url, "ram", OUTSIDER)
    [invitation] = outsider_ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert error(outsider.get_record, **get) == ("AccessForbidden", 403)  # not accepted yet
    outsider_ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    assert outsider.get_record(**get)["Record"]
    batch = outsider.batch_get_record(
        Identifiers=[
            {"FeatureGroupName": arn, "RecordIdentifiersValueAsString": ["c-1"]},
            {"FeatureGroupName": fg_arn("payments_features"), "RecordIdentifiersValueAsString": ["c-9"]},
        ]
    )
    assert [r["RecordIdentifierValueAsString"] for r in batch["Records"]] == ["c-1"]
    assert [(e["FeatureGroupName"], e["ErrorCode"]) for e in batch["Errors"]] == [
        (fg_arn("payments_features"), "AccessForbidden")
    ]
    put = {"FeatureGroupName": arn, "Record": record("c-2", 1_700_000_100, "0.5")}
    assert error(outsider.put_record, **put) == ("AccessForbidden", 403)

    owner_ram.associate_resource_share_permission(
        resourceShareArn=read_only["resourceShareArn"], permissionArn=READ_WRITE, replace=True
    )
    outsider.put_record(**put)
    outsider.delete_record(
        FeatureGroupName=arn, RecordIdentifierValueAsString="c-2", EventTime="1700000200", DeletionMode="HardDelete"
    )
    owner = fresh_client(url, "sagemaker-featurestore-runtime", OWNER)
    assert "Record" not in owner.get_record(FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-2")
    assert recorder.problems() == []
    assert recorder.error_problems() == []


def test_forbidden_message_names_the_real_caller(clean_sandbox):
    """AccessForbidden names the principal that called: the role session, the IAM user, not a made-up one."""
    from sandbox.seed import ROLE_NAME, admin_client, create_reader_role

    from .conftest import make_client

    url = clean_sandbox.url
    arn = fg_arn("orders_features")
    create_group(url, "orders_features")
    create_reader_role(url, OUTSIDER, "ext-outsider")
    creds = make_client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{OUTSIDER}:role/{ROLE_NAME}", RoleSessionName="nightly-job", ExternalId="ext-outsider"
    )["Credentials"]
    iam = admin_client(url, "iam", OUTSIDER)
    iam.create_user(UserName="dana")
    key = iam.create_access_key(UserName="dana")["AccessKey"]
    user_creds = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "SessionToken": None}

    def message(runtime) -> str:
        try:
            runtime.get_record(FeatureGroupName=arn, RecordIdentifierValueAsString="c-1")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessForbidden"
            return exc.response["Error"]["Message"]
        raise AssertionError("the call succeeded")

    because = f"is not authorized to perform: sagemaker:GetRecord on resource: {arn} because no resource-based "
    session = make_client(url, "sagemaker-featurestore-runtime", creds=creds)
    assert message(session) == (
        f"User: arn:aws:sts::{OUTSIDER}:assumed-role/{ROLE_NAME}/nightly-job {because}"
        "policy allows the sagemaker:GetRecord action"
    )
    user = make_client(url, "sagemaker-featurestore-runtime", creds=user_creds)
    assert message(user).startswith(f"User: arn:aws:iam::{OUTSIDER}:user/dana {because}")
    admin = fresh_client(url, "sagemaker-featurestore-runtime", OUTSIDER)
    assert message(admin).startswith(f"User: arn:aws:iam::{OUTSIDER}:user/moto {because}")

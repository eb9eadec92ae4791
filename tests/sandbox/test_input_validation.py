"""SageMaker's control plane refuses input its API model does not allow, with AWS's sentences."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sandbox.validation import input_errors, message
from tests.sandbox.test_featurestore import create


@pytest.fixture
def sagemaker_with_group(sm):
    return sm, create(sm, "orders", Tags=[])


def test_a_tag_aws_refuses_is_refused_with_its_constraint(sagemaker_with_group):
    sm, arn = sagemaker_with_group
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "<b>xss</b>", "Value": "ok"}, {"Key": "team", "Value": '"><img>'}])
    error = exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("2 validation errors detected: Value '<b>xss</b>' at 'tags.1.member.key'")
    assert (
        "'tags.2.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern"
        in (error["Message"])
    )
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []  # nothing of the refused call was kept
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "domain:risk/score", "Value": "Équipe données @ 2026"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "domain:risk/score", "Value": "Équipe données @ 2026"}]


def test_tag_keys_with_the_reserved_aws_prefix_are_refused(sagemaker_with_group):
    sm, arn = sagemaker_with_group
    for key in ("aws:team", "AWS:Team", "Aws:cost-center"):
        with pytest.raises(ClientError) as exc:
            sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "fraud"}, {"Key": key, "Value": "x"}])
        error = exc.value.response["Error"]
        assert (error["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationException", 400)
        assert key in error["Message"] and "'aws:' is reserved" in error["Message"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []  # nothing of the refused calls was kept
    with pytest.raises(ClientError) as exc:
        create(sm, "reserved_tags", Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "x"}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert [g["FeatureGroupName"] for g in sm.list_feature_groups()["FeatureGroupSummaries"]] == ["orders"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team:aws", "Value": "x"}])  # only a leading aws: is reserved
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team:aws", "Value": "x"}]


def test_feature_parameters_aws_refuses_are_refused(sagemaker_with_group):
    sm, _ = sagemaker_with_group
    with pytest.raises(ClientError) as exc:
        sm.update_feature_metadata(
            FeatureGroupName="orders",
            FeatureName="record_id",
            ParameterAdditions=[{"Key": "owner@team", "Value": "x"}],  # '@' is allowed in tags, not here
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "'parameterAdditions.1.member.key'" in exc.value.response["Error"]["Message"]


def test_every_kind_of_constraint_reads_as_aws_writes_it():
    errors = input_errors("ListFeatureGroups", {"MaxResults": 0, "SortOrder": "Asc", "NameContains": "x" * 300})
    assert errors == [  # in the order of the model's members
        f"Value '{'x' * 300}' at 'nameContains' failed to satisfy constraint: Member must have length less than"
        " or equal to 64",
        "Value 'Asc' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: "
        "[Ascending, Descending]",
        "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
    ]
    assert input_errors("DescribeFeatureGroup", {}) == [
        "Value null at 'featureGroupName' failed to satisfy constraint: Member must not be null"
    ]
    assert message(["a"]) == "1 validation error detected: a"
    assert message([str(n) for n in range(12)]).startswith("12 validation errors detected: 0; 1;")
    assert message([str(n) for n in range(12)]).endswith("; 9")


# One broken constraint per operation, for operations the sandbox serves beyond the six checked first:
# the check is generic over botocore's model, as AWS checks every operation.
BROKEN_CALLS = [
    (
        "create_feature_group",
        {
            "FeatureGroupName": "long_description",
            "RecordIdentifierFeatureName": "record_id",
            "EventTimeFeatureName": "event_time",
            "FeatureDefinitions": [
                {"FeatureName": "record_id", "FeatureType": "String"},
                {"FeatureName": "event_time", "FeatureType": "Fractional"},
            ],
            "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://bucket/prefix"}},
            "RoleArn": "arn:aws:iam::123456789012:role/fs",
            "Description": "x" * 129,
        },
        "'description' failed to satisfy constraint: Member must have length less than or equal to 128",
    ),
    (
        "describe_feature_group",
        {"FeatureGroupName": "orders features"},
        "'featureGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ),
    (
        "delete_feature_group",
        {"FeatureGroupName": "orders!"},
        "Value 'orders!' at 'featureGroupName' failed to satisfy constraint: Member must satisfy regular expression",
    ),
    (
        "update_feature_group",
        {"FeatureGroupName": "orders", "FeatureAdditions": [{"FeatureName": "bad name", "FeatureType": "String"}]},
        "'featureAdditions.1.member.featureName' failed to satisfy constraint: Member must satisfy regular",
    ),
    (
        "describe_feature_metadata",
        {"FeatureGroupName": "orders", "FeatureName": "record id"},
        "'featureName' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ),
    (
        "search",
        {"Resource": "FeatureGroup", "MaxResults": 101},
        "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
    ),
    (
        "list_tags",
        {"ResourceArn": "arn:aws:s3:::bucket"},
        "'resourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ),
    (
        "create_context",
        {"ContextName": "pipeline context", "ContextType": "Pipeline", "Source": {"SourceUri": "s3://bucket/p"}},
        "'contextName' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ),
    (
        "describe_context",
        {"ContextName": "orders/context"},
        "'contextName' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ),
    (
        "add_association",
        {
            "SourceArn": "arn:aws:sagemaker:eu-west-1:123456789012:artifact/a",
            "DestinationArn": "arn:aws:sagemaker:eu-west-1:123456789012:context/c",
            "AssociationType": "Feeds",
        },
        "Value 'Feeds' at 'associationType' failed to satisfy constraint: Member must satisfy enum value set",
    ),
    (
        "query_lineage",
        {"StartArns": ["arn:aws:sagemaker:eu-west-1:123456789012:context/c"], "MaxDepth": 11},
        "Value '11' at 'maxDepth' failed to satisfy constraint: Member must have value less than or equal to 10",
    ),
]


@pytest.mark.parametrize(("method", "params", "sentence"), BROKEN_CALLS, ids=[call[0] for call in BROKEN_CALLS])
def test_every_operation_refuses_what_its_model_forbids(sagemaker_with_group, method, params, sentence):
    sm, _ = sagemaker_with_group
    with pytest.raises(ClientError) as exc:
        getattr(sm, method)(**params)
    error = exc.value.response["Error"]
    assert (error["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationException", 400)
    assert error["Message"].startswith("1 validation error detected: ")
    assert sentence in error["Message"]
    # Nothing of a refused call was kept.
    assert [g["FeatureGroupName"] for g in sm.list_feature_groups()["FeatureGroupSummaries"]] == ["orders"]
    assert len(sm.describe_feature_group(FeatureGroupName="orders")["FeatureDefinitions"]) == 5

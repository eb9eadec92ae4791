"""Error paths and paging of the catalog's Feature Store gateway, checked by botocore's Stubber
(which validates every request and response against AWS's real API models)."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.gateways.featurestore import FeatureStoreGateway
from portal import aws
from tests.aws_stubs import StubSession

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
ARN = "arn:aws:sagemaker:eu-west-1:111111111111:feature-group/customer_profile"
ORDER = {"SortBy": "CreationTime", "SortOrder": "Ascending"}


@pytest.fixture
def gateway(settings):
    settings.PANTRY_AWS_MAX_ATTEMPTS = 1
    session = StubSession()
    gw = FeatureStoreGateway(session)
    with session.stubber as stubber:
        gw.stubber = stubber
        yield gw
        stubber.assert_no_pending_responses()


def _definitions(start: int, stop: int) -> list[dict]:
    return [{"FeatureName": f"f_{i}", "FeatureType": "Integral"} for i in range(start, stop)]


def _describe(definitions: list[dict], token: str | None = None) -> dict:
    response = {
        "FeatureGroupArn": ARN,
        "FeatureGroupName": "customer_profile",
        "RecordIdentifierFeatureName": "f_0",
        "EventTimeFeatureName": "f_1",
        "FeatureDefinitions": definitions,
        "CreationTime": NOW,
        # AWS's model makes NextToken required; the last page carries an empty one.
        "NextToken": token or "",
    }
    return response


def test_describe_follows_next_token_through_every_feature_definition(gateway):
    gateway.stubber.add_response(
        "describe_feature_group", _describe(_definitions(0, 1000), "t1"), {"FeatureGroupName": ARN}
    )
    gateway.stubber.add_response(
        "describe_feature_group",
        _describe(_definitions(1000, 2000), "t2"),
        {"FeatureGroupName": ARN, "NextToken": "t1"},
    )
    gateway.stubber.add_response(
        "describe_feature_group", _describe(_definitions(2000, 2500)), {"FeatureGroupName": ARN, "NextToken": "t2"}
    )

    record = gateway.describe_feature_group(ARN)

    assert len(record.features) == 2500
    assert record.features[-1].name == "f_2499"
    assert gateway.counter.as_dict() == {"DescribeFeatureGroup": 3}


def test_search_pages_until_no_next_token(gateway):
    def page(names, token=None):
        body = {
            "Results": [
                {
                    "FeatureGroup": {
                        "FeatureGroupArn": ARN.replace("customer_profile", n),
                        "FeatureGroupName": n,
                        "RecordIdentifierFeatureName": "id",
                        "EventTimeFeatureName": "ts",
                        "FeatureDefinitions": [{"FeatureName": "id", "FeatureType": "String"}],
                        "CreationTime": NOW,
                        "Tags": [{"Key": "team", "Value": "crm"}],
                    }
                }
                for n in names
            ]
        }
        if token:
            body["NextToken"] = token
        return body

    gateway.stubber.add_response(
        "search", page(["a", "b"], "n1"), {"Resource": "FeatureGroup", "MaxResults": 100, **ORDER}
    )
    gateway.stubber.add_response(
        "search", page(["c"]), {"Resource": "FeatureGroup", "MaxResults": 100, "NextToken": "n1", **ORDER}
    )

    records = [r for page in gateway.feature_group_pages() for r in page]

    assert [r.name for r in records] == ["a", "b", "c"]
    assert records[0].tags == {"team": "crm"}


def test_search_feature_metadata_sends_the_watermark_in_the_documented_timestamp_form(gateway):
    # Filter.Value for timestamps is "YYYY-mm-dd'T'HH:MM:SS": UTC, whole seconds, no offset.
    watermark = NOW.replace(microsecond=987654).astimezone(dt.timezone(dt.timedelta(hours=2)))
    gateway.stubber.add_response(
        "search",
        {"Results": []},
        {
            "Resource": "FeatureMetadata",
            "MaxResults": 100,
            **ORDER,
            "SearchExpression": {
                "Filters": [
                    {"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo", "Value": "2026-11-01T12:00:00"}
                ]
            },
        },
    )
    assert list(gateway.feature_metadata_pages(modified_since=watermark)) == [[]]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", aws.AwsThrottled),
        ("AccessDeniedException", aws.AwsAccessDenied),
        ("ResourceNotFound", aws.AwsNotFound),
        ("ValidationException", aws.AwsInvalidRequest),
        ("InternalFailure", aws.AwsError),
        ("ExpiredTokenException", aws.AwsCredentialsExpired),
        ("UnrecognizedClientException", aws.AwsCredentialsInvalid),
    ],
)
def test_botocore_errors_become_pantry_errors(gateway, code, expected):
    gateway.stubber.add_client_error("describe_feature_group", service_error_code=code, service_message="nope")

    with pytest.raises(expected) as info:
        gateway.describe_feature_group("missing")

    assert info.value.code == code
    assert info.value.operation == "DescribeFeatureGroup"
    assert "nope" in str(info.value)


def test_update_feature_metadata_sends_additions_and_removals(gateway):
    gateway.stubber.add_response(
        "update_feature_metadata",
        {},
        {
            "FeatureGroupName": "customer_profile",
            "FeatureName": "age",
            "Description": "Age in years",
            "ParameterAdditions": [{"Key": "unit", "Value": "years"}],
            "ParameterRemovals": ["legacy"],
        },
    )
    gateway.update_feature_metadata(
        group="customer_profile",
        feature="age",
        description="Age in years",
        parameter_additions={"unit": "years"},
        parameter_removals=["legacy"],
    )

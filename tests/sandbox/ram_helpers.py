"""Accounts, ARNs and calls the RAM and Feature Store runtime tests share."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.seed import admin_client

from .conftest import REGION

MGMT, OWNER, MEMBER, OUTSIDER, STRANGER = "100000000000", "111111111111", "222222222222", "444444444444", "555555555555"
PERM = "arn:aws:ram::aws:permission/"
READ_ONLY = PERM + "AWSRAMPermissionSageMakerFeatureGroupReadOnly"
READ_WRITE = PERM + "AWSRAMPermissionSagemakerFeatureGroupReadWrite"
ADMIN = PERM + "AWSRAMPermissionSagemakerFeatureGroupAdmin"
CATALOG_SEARCH = PERM + "AWSRAMPermissionSageMakerCatalogResourceSearch"


def fg_arn(name: str, account: str = OWNER, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:feature-group/{name}"


def catalog_arn(account: str = OWNER, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:sagemaker-catalog/DefaultFeatureGroupCatalog"


def client(url: str, service: str, account: str, region: str = REGION):
    return admin_client(url, service, account, region)


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return {
        "code": exc.value.response["Error"]["Code"],
        "message": exc.value.response["Error"]["Message"],
        "status": exc.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def create_group(url: str, name: str, account: str = OWNER, region: str = REGION) -> str:
    return client(url, "sagemaker", account, region).create_feature_group(
        FeatureGroupName=name,
        RecordIdentifierFeatureName="customer_id",
        EventTimeFeatureName="event_time",
        FeatureDefinitions=[
            {"FeatureName": "customer_id", "FeatureType": "String"},
            {"FeatureName": "event_time", "FeatureType": "Fractional"},
            {"FeatureName": "score", "FeatureType": "Fractional"},
        ],
        OnlineStoreConfig={"EnableOnlineStore": True},
        Description=f"{name} for the RAM tests",
    )["FeatureGroupArn"]


def share(url: str, principals: list[str], resources: list[str], permission: str | None = READ_ONLY, **kwargs) -> dict:
    params = {"name": kwargs.pop("name", "pantry-share"), "resourceArns": resources, "principals": principals, **kwargs}
    if permission:
        params["permissionArns"] = [permission]
    return client(url, "ram", OWNER).create_resource_share(**params)["resourceShare"]


def fresh_client(url: str, service: str, account: str, region: str = REGION):
    """A new client (its own event hooks, unlike the cached admin clients) acting inside ``account``."""
    new = boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=True),
    )
    new.meta.events.register(
        "before-sign", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
    )
    return new

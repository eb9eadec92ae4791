"""The persona organisation, for real, in the sandbox: roles, an AWS Organization, a feature group.

central-feature-store (111111111111) and marketing-science (555555555555) are
members of the organisation, which has RAM sharing with AWS Organizations on;
fraud-research (444444444444, the data scientist's account) is outside it, so
shares with it go through invitations that its admin accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.models import AwsAccount, FeatureGroup
from tests.aws_fixtures import sandbox_client, sandbox_feature_group
from tests.factories import AwsAccountFactory, FeatureGroupFactory

MANAGEMENT_ACCOUNT = "100000000000"
GROUP_NAME = "customer_digital_engagement"


@dataclass
class RamWorld:
    url: str
    central: AwsAccount
    consumer: AwsAccount  # fraud-research, outside the organisation
    member: AwsAccount  # marketing-science, inside it
    group: FeatureGroup

    def client(self, account: AwsAccount, service: str = "ram"):
        return sandbox_client(self.url, account.account_id, service)


def _register(url: str, account: AwsAccount) -> AwsAccount:
    from sandbox import seed

    account.external_id = f"pantry-{account.name}"
    account.role_arn = seed.create_reader_role(url, account.account_id, account.external_id)
    account.regions = ["eu-west-1"]
    account.save()
    seed.ensure_bucket(url, account.account_id, "eu-west-1", seed.offline_bucket(account.account_id, "eu-west-1"))
    return account


@pytest.fixture
def ram_world(aws_sandbox, org) -> RamWorld:
    from sandbox import seed

    url = aws_sandbox.url
    member = AwsAccountFactory(name="marketing-science", account_id="555555555555", kind=AwsAccount.Kind.CONSUMER)
    for account in (org.central, org.consumer, member):
        _register(url, account)
    seed.ensure_organisation(url, MANAGEMENT_ACCOUNT, {"feature-platform": [org.central.account_id, member.account_id]})
    arn = sandbox_feature_group(url, org.central.account_id, GROUP_NAME)
    group = FeatureGroupFactory(account=org.central, name=GROUP_NAME, region="eu-west-1", arn=arn)
    return RamWorld(url=url, central=org.central, consumer=org.consumer, member=member, group=group)


def can_describe(world: RamWorld, account: AwsAccount, arn: str) -> bool:
    """Whether `account` can DescribeFeatureGroup by ARN now (the cross-account effect of RAM)."""
    from botocore.exceptions import ClientError

    try:
        world.client(account, "sagemaker").describe_feature_group(FeatureGroupName=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("AccessDeniedException", "ResourceNotFound"):
            return False
        raise
    return True

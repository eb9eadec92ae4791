"""What an account's owners paste into AWS so Pantry can assume its role: trust policy, commands.

The documents are the ones in deploy/aws/ (docs/aws-setup.md), filled in for one
account: the trust policy here is `deploy/aws/trust-policy.json` with Pantry's
principal and the account's external id (tests/catalog/test_external_id.py
keeps the two equal); the commands install the policy files of the capabilities
the account uses.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from django.conf import settings

from catalog.models import AwsAccount

ROLE_ARN_RE = re.compile(r"^arn:(?P<partition>aws[\w-]*):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
PRINCIPAL_PLACEHOLDER = "PANTRY_PRINCIPAL_ARN"
STACK_NAME = "pantry-access"
# A trail reader's own stack, named after its role: deployed as `pantry-access` it would replace
# the bucket account's Pantry role stack (read and share policies gone, or the role renamed).
TRAIL_STACK_PREFIX = "pantry-trail-reader-"


@dataclass(frozen=True)
class RoleSetup:
    external_id: str
    principal_arn: str  # empty when PANTRY_AWS_PRINCIPAL_ARN is not configured
    role_name: str
    capabilities: dict[str, bool]  # CloudFormation parameter → on
    cloudformation_parameters: dict[str, str]
    policy_files: tuple[str, ...]
    trust_policy: str  # pretty JSON
    cloudformation_command: str
    cli_commands: str


def trust_policy_document(*, principal_arn: str, external_id: str) -> dict:
    """deploy/aws/trust-policy.json with its two placeholders filled in."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PantryAssumesThisRoleWithItsExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def _cloudformation_command(parameters: dict[str, str], *, stack_name: str = STACK_NAME) -> str:
    """`aws cloudformation deploy` of deploy/aws/pantry-role.yaml with these parameters, shell-quoted."""
    overrides = " ".join(f"{name}={shlex.quote(value)}" for name, value in parameters.items())
    return (
        f"aws cloudformation deploy --stack-name {shlex.quote(stack_name)} \\\n"
        "  --template-file deploy/aws/pantry-role.yaml \\\n"
        "  --capabilities CAPABILITY_NAMED_IAM \\\n"
        f"  --parameter-overrides {overrides}"
    )


def _create_role_lines(role_name: str, whose: str) -> list[str]:
    return [
        f"# 1. The role, trusting Pantry with {whose} external id (save the trust policy above",
        "#    as trust-policy.json)",
        f"aws iam create-role --role-name {shlex.quote(role_name)} --max-session-duration 3600 \\",
        "  --assume-role-policy-document file://trust-policy.json",
    ]


def _put_policy_line(role_name: str, name: str) -> str:
    return (
        f"aws iam put-role-policy --role-name {shlex.quote(role_name)} --policy-name {name} "
        f"--policy-document file://{name}.json"
    )


def account_capabilities(account: AwsAccount) -> dict[str, bool]:
    """Which of the template's policies this account needs, from what Pantry does with it.

    Owner accounts are synced (read) and share their groups; consumer accounts
    answer RAM invitations, which the share policy also covers. Audit is for the
    account holding the CloudTrail bucket, which its operators turn on by hand.
    """
    return {
        "EnableRead": account.is_owner,
        "EnableMetadataWrite": account.is_owner and account.metadata_write_allowed,
        "EnableShare": True,
        "EnableAudit": False,
    }


_POLICY_OF = {
    "EnableRead": "pantry-read",
    "EnableMetadataWrite": "pantry-metadata-write",
    "EnableShare": "pantry-share",
    "EnableAudit": "pantry-audit",
}


def account_role_setup(*, account: AwsAccount) -> RoleSetup:
    """The trust policy and commands for `account`. Callers show it only to operators and the
    account's owners and admins (`catalog.permissions.can_see_account_setup`)."""
    match = ROLE_ARN_RE.match(account.role_arn)
    partition, role_name = (match["partition"], match["name"]) if match else ("aws", "PantryAccess")
    principal = settings.PANTRY_AWS_PRINCIPAL_ARN or ""
    shown_principal = principal or PRINCIPAL_PLACEHOLDER
    capabilities = account_capabilities(account)
    policies = tuple(_POLICY_OF[name] for name, on in capabilities.items() if on)
    trust = json.dumps(trust_policy_document(principal_arn=shown_principal, external_id=account.external_id), indent=2)

    parameters = {
        "PantryPrincipalArn": shown_principal,
        "ExternalId": account.external_id,
        "RoleName": role_name,
        **{name: "true" if on else "false" for name, on in capabilities.items()},
    }
    cloudformation = _cloudformation_command(parameters)
    fill = f"-e 's/${{AWS::Partition}}/{partition}/g' -e 's/${{AWS::AccountId}}/{account.account_id}/g'"
    lines = [
        *_create_role_lines(role_name, "this account's"),
        "# 2. Its policies, from deploy/aws/policies/ with this account filled in",
    ]
    for name in policies:
        lines += [f"sed {fill} deploy/aws/policies/{name}.json > {name}.json", _put_policy_line(role_name, name)]
    return RoleSetup(
        external_id=account.external_id,
        principal_arn=principal,
        role_name=role_name,
        capabilities=capabilities,
        cloudformation_parameters=parameters,
        policy_files=tuple(f"deploy/aws/policies/{name}.json" for name in policies),
        trust_policy=trust,
        cloudformation_command=cloudformation,
        cli_commands="\n".join(lines),
    )


@dataclass(frozen=True)
class TrailRoleSetup:
    external_id: str
    principal_arn: str  # empty when PANTRY_AWS_PRINCIPAL_ARN is not configured
    role_name: str
    trust_policy: str  # pretty JSON
    cloudformation_command: str
    cli_commands: str


def trail_role_setup(*, source) -> TrailRoleSetup:
    """The reader role of a CloudTrail trail source (`usage.models.TrailSource`): trust policy and commands.

    Only the audit policy (`deploy/aws/policies/pantry-audit.json`: ListBucket under the trail's
    `AWSLogs/`, GetObject there), in the account that holds the bucket. Operators only: the
    trail source pages are theirs.
    """
    match = ROLE_ARN_RE.match(source.role_arn)
    partition, role_name = (match["partition"], match["name"]) if match else ("aws", "PantryAccess")
    principal = settings.PANTRY_AWS_PRINCIPAL_ARN or ""
    shown_principal = principal or PRINCIPAL_PLACEHOLDER
    trust = json.dumps(trust_policy_document(principal_arn=shown_principal, external_id=source.external_id), indent=2)
    prefix = f"{source.prefix.strip('/')}/" if source.prefix.strip("/") else ""
    q = shlex.quote
    parameters = {
        "PantryPrincipalArn": shown_principal,
        "ExternalId": source.external_id,
        "RoleName": role_name,
        "EnableRead": "false",
        "EnableMetadataWrite": "false",
        "EnableShare": "false",
        "EnableAudit": "true",
        "TrailBucketName": source.bucket,
        "TrailPrefix": prefix,
    }
    # Stack names allow letters, digits and hyphens (128 at most); role names also allow +=,.@_
    stack = (TRAIL_STACK_PREFIX + re.sub(r"[^A-Za-z0-9-]", "-", role_name))[:128]
    cloudformation = _cloudformation_command(parameters, stack_name=stack)
    # sed replacement text: '/' separates, so escape it (a prefix is a path); each expression is
    # shell-quoted (a prefix may hold a quote: the form allows !_.*'()/-).
    sed_prefix = prefix.replace("/", r"\/")
    fill = " ".join(
        f"-e {q(expression)}"
        for expression in (
            f"s/${{AWS::Partition}}/{partition}/g",
            f"s/${{TrailBucketName}}/{source.bucket}/g",
            f"s/${{TrailPrefix}}/{sed_prefix}/g",
        )
    )
    lines = [
        *_create_role_lines(role_name, "this trail source's"),
        "# 2. The audit policy from deploy/aws/policies/ with this bucket and prefix filled in",
        f"sed {fill} deploy/aws/policies/pantry-audit.json > pantry-audit.json",
        _put_policy_line(role_name, "pantry-audit"),
    ]
    return TrailRoleSetup(
        external_id=source.external_id,
        principal_arn=principal,
        role_name=role_name,
        trust_policy=trust,
        cloudformation_command=cloudformation,
        cli_commands="\n".join(lines),
    )

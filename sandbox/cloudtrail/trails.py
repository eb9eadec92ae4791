"""Set up the organisation's trails through boto3, as an AWS administrator would.

* The seeded AWS Organization (the manifest's ``organization``) gains a log-archive account,
  invited by the management account and accepted by the account (Organizations handshake).
* An S3 bucket in the log-archive account with the bucket policy the CloudTrail user guide
  gives for organisation trails, and a ``PantryTrailReader`` role Pantry can assume to read it.
* The organisation trail in the management account: multi-region, log file validation on,
  advanced event selectors = all management events + ``AWS::SageMaker::FeatureGroup`` data
  events for the (account, region) pairs whose groups are shared -- not for the others.
* Every manifest account outside the organisation (fraud-research, a research partner) keeps
  its own account trail -- an organisation trail cannot cover it -- with its own bucket, key
  prefix ``audit``, management and Feature Store data events, readable by its
  ``PantryCatalogReader`` role.

:func:`cloudtrail_seed` runs this, seeds the history and starts the live generator; it returns
the manifest's ``cloudtrail`` section.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from .. import control, vocab
from ..seed import _ignore, admin_client, ensure_bucket, ensure_organisation, trust_policy

LOG_ARCHIVE_ACCOUNT = ("202020202020", "log-archive")
HOME_REGION = "eu-west-1"
ORG_TRAIL = "organization-trail"
ACCOUNT_TRAIL = "account-audit-trail"
ACCOUNT_TRAIL_PREFIX = "audit"
TRAIL_READER_ROLE = "PantryTrailReader"
TRAIL_READER_EXTERNAL_ID = "pantry-log-archive"


def org_bucket_policy(bucket: str, management_account: str, org_id: str, trail_arn: str) -> str:
    """The bucket policy the CloudTrail user guide gives for an organisation trail."""
    condition = {"StringEquals": {"aws:SourceArn": trail_arn}}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    "Condition": condition,
                },
                {
                    "Sid": "AWSCloudTrailWrite20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{management_account}/*",
                    "Condition": {
                        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **condition["StringEquals"]}
                    },
                },
                {
                    "Sid": "AWSCloudTrailOrganizationWrite20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{org_id}/*",
                    "Condition": {
                        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **condition["StringEquals"]}
                    },
                },
            ],
        }
    )


def account_bucket_policy(bucket: str, account: str, prefix: str, trail_arn: str) -> str:
    condition = {"StringEquals": {"aws:SourceArn": trail_arn}}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    "Condition": condition,
                },
                {
                    "Sid": "AWSCloudTrailWrite20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}/AWSLogs/{account}/*",
                    "Condition": {
                        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **condition["StringEquals"]}
                    },
                },
            ],
        }
    )


def read_policy(buckets: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
                },
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [f"arn:aws:s3:::{b}/*" for b in buckets]},
            ],
        }
    )


def data_event_scope(manifest: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """ARN prefixes whose data events the org trail selects, and the (account, region) left out.

    Selected: every (owner account, region) with at least one shared group -- where usage by
    other accounts can happen. Left out: the others, so the demo shows an account whose
    Feature Store reads CloudTrail does not record.
    """
    shared = {a["arn"] for a in manifest.get("access", [])}
    scopes: dict[tuple[str, str], bool] = {}
    for group in manifest.get("feature_groups", []):
        key = (group["account_id"], group["region"])
        scopes[key] = scopes.get(key, False) or group["arn"] in shared
    selected = [
        f"arn:aws:sagemaker:{region}:{account}:feature-group/" for (account, region), on in sorted(scopes.items()) if on
    ]
    left_out = [[account, region] for (account, region), on in sorted(scopes.items()) if not on]
    return selected, left_out


def advanced_selectors(prefixes: list[str] | None) -> list[dict[str, Any]]:
    """Management events, plus Feature Store data events (of these ARN prefixes; ``None``: all)."""
    selectors: list[dict[str, Any]] = [
        {"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
    ]
    if prefixes is None or prefixes:
        fields = [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::SageMaker::FeatureGroup"]},
        ]
        if prefixes:
            fields.append({"Field": "resources.ARN", "StartsWith": prefixes})
        selectors.append({"Name": "Feature Store data events", "FieldSelectors": fields})
    return selectors


def join_organisation(endpoint_url: str, management: str, account: str) -> None:
    """Invite ``account`` into the management account's organisation and accept (idempotent)."""
    mgmt = admin_client(endpoint_url, "organizations", management, "us-east-1")
    if account in {a["Id"] for a in mgmt.list_accounts()["Accounts"]}:
        return
    handshake = mgmt.invite_account_to_organization(
        Target={"Id": account, "Type": "ACCOUNT"}, Notes="Log archive for the organisation trail."
    )["Handshake"]
    admin_client(endpoint_url, "organizations", account, "us-east-1").accept_handshake(HandshakeId=handshake["Id"])


def _reader_role(endpoint_url: str, account: str, name: str, external_id: str, buckets: list[str]) -> str:
    iam = admin_client(endpoint_url, "iam", account)
    _ignore(
        ("EntityAlreadyExists",),
        iam.create_role,
        RoleName=name,
        AssumeRolePolicyDocument=trust_policy(external_id),
        Description="Read-only role Pantry assumes to ingest CloudTrail log files.",
        Tags=[{"Key": "managed-by", "Value": "pantry"}],
    )
    iam.put_role_policy(RoleName=name, PolicyName="pantry-cloudtrail-read", PolicyDocument=read_policy(buckets))
    return f"arn:aws:iam::{account}:role/{name}"


def _create_trail(client, **kwargs: Any) -> str:
    try:
        return client.create_trail(**kwargs)["TrailARN"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TrailAlreadyExistsException":
            raise
        return client.get_trail(Name=kwargs["Name"])["Trail"]["TrailARN"]


def trails_setup(endpoint_url: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create the buckets, trails and reader roles (and the log-archive member). Idempotent."""
    archive, archive_name = LOG_ARCHIVE_ACCOUNT
    organization = manifest.get("organization")
    if not organization:  # a manifest from before the seed built an organisation
        management = vocab.MANAGEMENT_ACCOUNT[0]
        organization = ensure_organisation(
            endpoint_url, management, {"workloads": [a["account_id"] for a in manifest.get("accounts", [])]}
        )
    management = organization["management_account_id"]
    join_organisation(endpoint_url, management, archive)
    org = admin_client(endpoint_url, "organizations", management, "us-east-1")
    org_id = org.describe_organization()["Organization"]["Id"]
    members = {a["Id"] for a in org.list_accounts()["Accounts"]}

    # The organisation trail, delivering to the log-archive account.
    bucket = f"aws-cloudtrail-logs-{archive}-{org_id.removeprefix('o-')}"
    ensure_bucket(endpoint_url, archive, HOME_REGION, bucket)
    org_trail_arn = f"arn:aws:cloudtrail:{HOME_REGION}:{management}:trail/{ORG_TRAIL}"
    s3 = admin_client(endpoint_url, "s3", archive, HOME_REGION)
    s3.put_bucket_policy(Bucket=bucket, Policy=org_bucket_policy(bucket, management, org_id, org_trail_arn))
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    ct = admin_client(endpoint_url, "cloudtrail", management, HOME_REGION)
    _create_trail(
        ct,
        Name=ORG_TRAIL,
        S3BucketName=bucket,
        IsMultiRegionTrail=True,
        IsOrganizationTrail=True,
        EnableLogFileValidation=True,
        IncludeGlobalServiceEvents=True,
        TagsList=[{"Key": "managed-by", "Value": "platform-security"}],
    )
    prefixes, left_out = data_event_scope(manifest)
    ct.put_event_selectors(TrailName=ORG_TRAIL, AdvancedEventSelectors=advanced_selectors(prefixes))
    ct.start_logging(Name=ORG_TRAIL)
    reader = _reader_role(endpoint_url, archive, TRAIL_READER_ROLE, TRAIL_READER_EXTERNAL_ID, [bucket])

    trails = [
        {
            "name": ORG_TRAIL,
            "arn": org_trail_arn,
            "account_id": management,
            "home_region": HOME_REGION,
            "organization": True,
            "bucket": bucket,
            "bucket_account_id": archive,
            "prefix": "",
            "log_prefix": f"AWSLogs/{org_id}/",
            "role_arn": reader,
            "external_id": TRAIL_READER_EXTERNAL_ID,
            "data_events": {"resources_arn_starts_with": prefixes, "not_selected": left_out},
            "log_file_validation": True,
        }
    ]

    # Accounts outside the organisation log with their own account trails.
    for outsider in sorted(
        (a for a in manifest.get("accounts", []) if a["account_id"] not in members), key=lambda a: a["account_id"]
    ):
        account = outsider["account_id"]
        own_bucket = f"{outsider['name']}-cloudtrail-{account}"
        ensure_bucket(endpoint_url, account, HOME_REGION, own_bucket)
        own_arn = f"arn:aws:cloudtrail:{HOME_REGION}:{account}:trail/{ACCOUNT_TRAIL}"
        admin_client(endpoint_url, "s3", account, HOME_REGION).put_bucket_policy(
            Bucket=own_bucket, Policy=account_bucket_policy(own_bucket, account, ACCOUNT_TRAIL_PREFIX, own_arn)
        )
        own = admin_client(endpoint_url, "cloudtrail", account, HOME_REGION)
        _create_trail(
            own,
            Name=ACCOUNT_TRAIL,
            S3BucketName=own_bucket,
            S3KeyPrefix=ACCOUNT_TRAIL_PREFIX,
            IsMultiRegionTrail=False,
            EnableLogFileValidation=False,
        )
        own.put_event_selectors(TrailName=ACCOUNT_TRAIL, AdvancedEventSelectors=advanced_selectors(None))
        own.start_logging(Name=ACCOUNT_TRAIL)
        role_name = outsider["role_arn"].rsplit("/", 1)[-1]
        admin_client(endpoint_url, "iam", account).put_role_policy(
            RoleName=role_name, PolicyName="pantry-cloudtrail-read", PolicyDocument=read_policy([own_bucket])
        )
        trails.append(
            {
                "name": ACCOUNT_TRAIL,
                "arn": own_arn,
                "account_id": account,
                "home_region": HOME_REGION,
                "organization": False,
                "bucket": own_bucket,
                "bucket_account_id": account,
                "prefix": ACCOUNT_TRAIL_PREFIX,
                "log_prefix": f"{ACCOUNT_TRAIL_PREFIX}/AWSLogs/{account}/",
                "role_arn": outsider["role_arn"],
                "external_id": outsider["external_id"],
                "data_events": {"resources_arn_starts_with": [], "not_selected": []},
                "log_file_validation": False,
            }
        )
    return {
        "organization_id": org_id,
        "management_account_id": management,
        "member_accounts": sorted(members),
        "log_archive_account_id": archive,
        "log_archive_account_name": archive_name,
        "trails": trails,
    }


def cloudtrail_seed(
    endpoint_url: str,
    manifest: dict[str, Any],
    *,
    days: int = 60,
    live_interval: float | None = 20.0,
    now: str | None = None,
) -> dict[str, Any]:
    """Trails + ``days`` of history + (unless ``live_interval`` is None) the live generator."""
    section = trails_setup(endpoint_url, manifest)
    summary = control.cloudtrail_history(endpoint_url, manifest, days=days, now=now)
    section["history"] = {k: summary[k] for k in ("now", "days", "files", "records", "digest_files") if k in summary}
    section["story"] = summary.get("story", {})
    if live_interval:
        control.cloudtrail_live(endpoint_url, enabled=True, interval_seconds=live_interval)
    section["live_interval_seconds"] = live_interval
    return section

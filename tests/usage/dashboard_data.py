"""A small, known usage history for the dashboard, panel and API tests.

Raw `CloudTrailEvent` rows are written one per call, and the daily rollups
are built from them with the same grouping the ingestion uses (day × group ×
owner × consumer × principal × operation × outcome × read_only), so every
figure a page shows can be checked against a direct count over the raw rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from catalog.models import AwsAccount, FeatureGroup
from sharing.models import Grant
from tests.factories import FeatureGroupFactory, GrantFactory
from usage.models import (
    CloudTrailEvent,
    UsageDaily,
    UsageDailyTotal,
    UsageLastUse,
    UsagePairDaily,
    UsagePrincipalDaily,
)
from usage.operations import READ_OPERATIONS, outcome_for
from usage.rollups import derived_rollups_fill

ROLE = "arn:aws:sts::{account}:assumed-role/{role}/{session}"


def principal(account: AwsAccount, role: str = "DataScience", session: str = "dana") -> str:
    return ROLE.format(account=account.account_id, role=role, session=session)


def event(
    *,
    group: FeatureGroup | None,
    consumer: AwsAccount | str,
    operation: str = "GetRecord",
    days_ago: int = 0,
    hour: int = 0,
    error_code: str = "",
    principal_arn: str | None = None,
    owner_account_id: str | None = None,
    arn: str | None = None,
) -> CloudTrailEvent:
    consumer_id = consumer if isinstance(consumer, str) else consumer.account_id
    when = datetime.combine(timezone.now().date() - timedelta(days=days_ago), datetime.min.time(), UTC)
    when += timedelta(hours=hour, seconds=CloudTrailEvent.objects.count() % 3600)
    return CloudTrailEvent.objects.create(
        event_id=uuid.uuid4(),
        event_time=when,
        event_name=operation,
        event_source=CloudTrailEvent.Source.SAGEMAKER,
        read_only=operation in READ_OPERATIONS,
        outcome=outcome_for(error_code or None),
        error_code=error_code,
        error_message="User is not authorized to perform: sagemaker:" + operation if error_code else "",
        principal_arn=principal_arn
        if principal_arn is not None
        else ROLE.format(account=consumer_id, role="Reader", session="s"),
        principal_type="AssumedRole",
        principal_account_id=consumer_id,
        owner_account_id=owner_account_id or (group.account.account_id if group else ""),
        consumer_account_id=consumer_id,
        feature_group=group,
        feature_group_arn=arn if arn is not None else (group.arn if group else ""),
        region="eu-west-1",
    )


def rollups_rebuild() -> None:
    """The rollups from every raw event (UTC days), as the ingestion's upsert would leave them; the
    principal, pair and last-use rollups derived from them as the migration's back-fill does."""
    UsageDaily.objects.all().delete()
    UsageDailyTotal.objects.all().delete()
    UsagePrincipalDaily.objects.all().delete()
    UsageLastUse.objects.all().delete()
    UsagePairDaily.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO usage_usagedailytotal (day, feature_group_id, feature_group_arn, owner_account_id,
                consumer_account_id, operation, outcome, read_only, calls)
            SELECT (event_time AT TIME ZONE 'UTC')::date, MAX(feature_group_id), feature_group_arn, owner_account_id,
                consumer_account_id, event_name, outcome, read_only, COUNT(*)
            FROM usage_cloudtrailevent
            GROUP BY 1, feature_group_arn, owner_account_id, consumer_account_id, event_name, outcome, read_only
            """
        )
        cursor.execute(
            """
            INSERT INTO usage_usagedaily (day, feature_group_id, feature_group_arn, owner_account_id,
                consumer_account_id, principal_arn, operation, outcome, read_only, calls)
            SELECT (event_time AT TIME ZONE 'UTC')::date, MAX(feature_group_id), feature_group_arn, owner_account_id,
                consumer_account_id, principal_arn, event_name, outcome, read_only, COUNT(*)
            FROM usage_cloudtrailevent
            GROUP BY 1, feature_group_arn, owner_account_id, consumer_account_id, principal_arn, event_name,
                outcome, read_only
            """
        )
    derived_rollups_fill()


@dataclass
class UsageWorld:
    profile: FeatureGroup  # central account: read by the consumer (read-only grant), denied to the outsider
    scores: FeatureGroup  # central account: read-write grant to the consumer, only reads seen
    payments: FeatureGroup  # team account: nobody else's usage; the central owner may not see it
    quiet: FeatureGroup  # central account: no usage at all
    unused_grant: Grant
    wide_grant: Grant
    read_grant: Grant


def usage_world(org) -> UsageWorld:
    """Ten days of calls on the `org` fixture's accounts (see each line)."""
    profile = FeatureGroupFactory(account=org.central, name="customer_profile")
    scores = FeatureGroupFactory(account=org.central, name="fraud_scores")
    payments = FeatureGroupFactory(account=org.team, name="payments_daily")
    quiet = FeatureGroupFactory(account=org.central, name="quiet_group")
    long_ago = timezone.now() - timedelta(days=90)
    read_grant = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=profile,
        permission=Grant.Permission.READ_ONLY,
    )
    wide_grant = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=scores,
        permission=Grant.Permission.READ_WRITE,
    )
    unused_grant = GrantFactory(
        owner_account=org.central,
        consumer_account=org.team,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=quiet,
        permission=Grant.Permission.READ_ONLY,
    )
    Grant.objects.filter(pk__in=[read_grant.pk, wide_grant.pk, unused_grant.pk]).update(created_at=long_ago)
    dana = principal(org.consumer, "DataScience", "dana")
    job = principal(org.consumer, "NightlyScoring", "job")
    for day in range(10):
        for _ in range(3):
            event(group=profile, consumer=org.consumer, operation="GetRecord", days_ago=day, principal_arn=dana)
        event(group=profile, consumer=org.consumer, operation="BatchGetRecord", days_ago=day, principal_arn=job)
        event(group=scores, consumer=org.consumer, operation="GetRecord", days_ago=day, principal_arn=job)
        # The team account writes its own group (an owner's pipeline, not a consumer).
        event(group=payments, consumer=org.team, operation="PutRecord", days_ago=day)
    event(group=profile, consumer=org.consumer, operation="DescribeFeatureGroup", days_ago=2, principal_arn=dana)
    # The outsider's account tries to read and write without a grant: denied.
    eve = principal(org.unrelated, "Lab", "eve")
    for day in (1, 3):
        event(
            group=profile,
            consumer=org.unrelated,
            operation="GetRecord",
            days_ago=day,
            error_code="AccessDeniedException",
            principal_arn=eve,
        )
    event(
        group=scores,
        consumer=org.unrelated,
        operation="PutRecord",
        days_ago=1,
        error_code="AccessDeniedException",
        principal_arn=eve,
    )
    # A throttled call fails without being denied.
    event(
        group=profile,
        consumer=org.consumer,
        operation="GetRecord",
        days_ago=4,
        error_code="ThrottlingException",
        principal_arn=dana,
    )
    # The team account reads the central profile group with no grant: a share made outside Pantry.
    event(
        group=profile,
        consumer=org.team,
        operation="GetRecord",
        days_ago=5,
        principal_arn=principal(org.team, "Payments", "p"),
    )
    # Old usage (40 days ago) counts in a wide range only.
    event(group=profile, consumer=org.consumer, operation="GetRecord", days_ago=40, principal_arn=dana)
    rollups_rebuild()
    return UsageWorld(
        profile=profile,
        scores=scores,
        payments=payments,
        quiet=quiet,
        unused_grant=unused_grant,
        wide_grant=wide_grant,
        read_grant=read_grant,
    )

"""Covering indexes for the dashboard's slowest figures at 10 M events (docs/usage.md § Speed).

- `UsageDaily (owner_account_id, day) INCLUDE (outcome, consumer, principal, group, calls)`
  replaces `usagedaily_owner_day` (same leading columns). An owner's scope cannot read
  `UsagePrincipalDaily`, which has no owner: it sums the owner's `UsageDaily` rows of the window,
  spread over every page of the window, so PostgreSQL read the whole window's heap (75-82 ms p95);
  with the columns in the index it is an index-only scan of the owner's entries (17 ms).
- `UsageDailyTotal (day, operation, outcome, read_only) INCLUDE (calls, group, consumer)` replaces
  `usagedailytotal_day_cover` (keyed by day only). Read in this order, the per-day breakdown sums
  entries as they come (GroupAggregate) instead of hashing them, two thirds of its time before;
  the window's (group, consumer) pairs still read it index-only.

Cost: the owner index holds the principal ARN (~130 bytes an entry; 288 MiB for 2.16 M rows), and
`calls` in it makes the ingestion's `calls = calls + excluded.calls` upserts non-HOT (no difference
measured on a 12,000-row upsert). Built concurrently: the ingestion keeps writing both tables.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0007_usagedailytotal_day_cover"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="usagedaily",
            index=models.Index(
                fields=["owner_account_id", "day"],
                include=["outcome", "consumer_account_id", "principal_arn", "feature_group_id", "calls"],
                name="usagedaily_owner_day_cover",
            ),
        ),
        RemoveIndexConcurrently(model_name="usagedaily", name="usagedaily_owner_day"),
        AddIndexConcurrently(
            model_name="usagedailytotal",
            index=models.Index(
                fields=["day", "operation", "outcome", "read_only"],
                include=["calls", "feature_group_id", "consumer_account_id"],
                name="usagedailytotal_day_operation",
            ),
        ),
        RemoveIndexConcurrently(model_name="usagedailytotal", name="usagedailytotal_day_cover"),
    ]

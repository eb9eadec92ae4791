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
`calls` in it makes the ingestion's `calls = calls + excluded.calls` upserts non-HOT (bench/ingest.py
measured no loss: 14,504 events/s end to end with it, 11,650 the run before without).

Built concurrently (the ingestion keeps writing both tables), one statement at a time, and safe to
run again after an interruption: a new index is dropped before it is built (a build that was
cancelled leaves an INVALID index under its name), an old one is dropped only if it is there.
Django's state is the models' (`AddIndex` / `RemoveIndex`).
"""

from django.db import migrations, models

OWNER_COVER = models.Index(
    fields=["owner_account_id", "day"],
    include=["outcome", "consumer_account_id", "principal_arn", "feature_group_id", "calls"],
    name="usagedaily_owner_day_cover",
)
DAY_OPERATION = models.Index(
    fields=["day", "operation", "outcome", "read_only"],
    include=["calls", "feature_group_id", "consumer_account_id"],
    name="usagedailytotal_day_operation",
)


def _rebuild(name: str, create: str, drop_old: str, restore_old: str) -> list:
    """Forward: drop any leftover `name`, build it, drop the index it replaces. Backward: the reverse."""
    return [
        migrations.RunSQL(f"DROP INDEX CONCURRENTLY IF EXISTS {name}", restore_old),
        migrations.RunSQL(create, f"DROP INDEX CONCURRENTLY IF EXISTS {name}"),
        migrations.RunSQL(drop_old, migrations.RunSQL.noop),
    ]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0007_usagedailytotal_day_cover"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                *_rebuild(
                    "usagedaily_owner_day_cover",
                    "CREATE INDEX CONCURRENTLY usagedaily_owner_day_cover ON usage_usagedaily"
                    " (owner_account_id, day)"
                    " INCLUDE (outcome, consumer_account_id, principal_arn, feature_group_id, calls)",
                    "DROP INDEX CONCURRENTLY IF EXISTS usagedaily_owner_day",
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS usagedaily_owner_day"
                    " ON usage_usagedaily (owner_account_id, day)",
                ),
                *_rebuild(
                    "usagedailytotal_day_operation",
                    "CREATE INDEX CONCURRENTLY usagedailytotal_day_operation ON usage_usagedailytotal"
                    " (day, operation, outcome, read_only) INCLUDE (calls, feature_group_id, consumer_account_id)",
                    "DROP INDEX CONCURRENTLY IF EXISTS usagedailytotal_day_cover",
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS usagedailytotal_day_cover ON usage_usagedailytotal"
                    " (day) INCLUDE (operation, outcome, read_only, calls, feature_group_id, consumer_account_id)",
                ),
            ],
            state_operations=[
                migrations.AddIndex(model_name="usagedaily", index=OWNER_COVER),
                migrations.RemoveIndex(model_name="usagedaily", name="usagedaily_owner_day"),
                migrations.AddIndex(model_name="usagedailytotal", index=DAY_OPERATION),
                migrations.RemoveIndex(model_name="usagedailytotal", name="usagedailytotal_day_cover"),
            ],
        ),
    ]

"""A `UsageDailyTotal (day, operation, outcome, read_only) INCLUDE (calls)` index for the per-day
breakdown (calls per day, operation, outcome and reads/writes: three of the dashboard's figures).

On `usagedailytotal_day_cover` (keyed by day only) the window's entries come out in no useful
order, and hashing them by (day, operation, outcome, read_only) takes two thirds of the query.
Read in this index's order they are summed as they come (GroupAggregate, no hash table): 14 -> 7 ms
for the bench's 20,000 window rows, and the gain grows with the window's rows (real-shaped rollups
hold few calls a row: over 80,000 window rows, 50-60 -> 34-39 ms). 13 MiB for the bench's 238,000
rows. `UsageDailyTotal` upserts were already non-HOT (`calls` is in `usagedailytotal_day_cover`), so
this is one more index entry a row written: an upsert of 5,300 rows (half new) took 200-300 ms with
it and 140-300 ms without (noisy, shared machine); the ingestion writes far fewer total rows than
events, so its share of the per-event cost is small.

Plain SQL, outside the model's state: the model (usage/models.py) is not part of this change. It
could declare one index for both (key `day, operation, outcome, read_only`, including `calls,
feature_group_id, consumer_account_id`) in place of `usagedailytotal_day_cover` and this one.
Built concurrently: the ingestion keeps writing the table.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS usagedailytotal_day_operation
    ON usage_usagedailytotal (day, operation, outcome, read_only) INCLUDE (calls)
"""

BACKWARD = "DROP INDEX CONCURRENTLY IF EXISTS usagedailytotal_day_operation"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0008_usagedaily_owner_day_cover"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

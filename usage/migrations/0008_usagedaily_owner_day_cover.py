"""A covering `UsageDaily (owner_account_id, day)` index for an owner's top principals.

An owner's scope (or the owner filter) cannot read `UsagePrincipalDaily`, which has no owner: it
sums the owner's `UsageDaily` rows of the window by principal and group. Those rows are spread over
every page of the window (one owner's rows among all the others of each day), so through
`usagedaily_owner_day` or `usagedaily_day` PostgreSQL reads the whole window's heap (about 90 ms
at 10 M events in 30 days). With the columns that sum needs in the index it is an index-only scan
of the owner's entries (about 18 ms).

Cost: about 130 bytes an entry (the principal ARN; 288 MiB for the bench's 2.16 M rows, where the
deduplicated `usagedaily_owner_day` takes 28 MiB), and `calls` in an index makes the ingestion's
`calls = calls + excluded.calls` upserts non-HOT (no difference measured on a 12,000-row upsert).

Plain SQL, outside the model's state: the model (usage/models.py) is not part of this change. It
should declare the index (`SeparateDatabaseAndState` over this one) and then drop
`usagedaily_owner_day`, which this index makes redundant (same leading columns).
Built concurrently: the ingestion keeps writing the table.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS usagedaily_owner_day_cover ON usage_usagedaily (owner_account_id, day)
    INCLUDE (outcome, consumer_account_id, principal_arn, feature_group_id, calls)
"""

BACKWARD = "DROP INDEX CONCURRENTLY IF EXISTS usagedaily_owner_day_cover"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0007_usagedailytotal_day_cover"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

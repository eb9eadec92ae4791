"""Drop the ledger's single-column index on `source_id` (Django's index for the foreign key).

Two indexes already lead with the source — `trailfile_unique_source_key (source_id, key)` and
`trailfile_source_state (source_id, state, delivered_at)` — and serve everything that looked rows
up by source: the cascade when a source is deleted, the per-source counts, the lag, the quarantined
list. A ledger row is updated three times per file (claimed, attempt charged, done), and none of
these can be a HOT update (the state and the heartbeat are indexed), so each wrote an entry in this
index too.

`DROP INDEX CONCURRENTLY` (no lock that blocks the ingestion's writes), so not in a transaction; the
name is Django's for this field, the same on every database. Reversed by building it again
concurrently.
"""

from django.db import migrations, models

INDEX = "usage_trailfile_source_id_a94239ed"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0009_usage_pair_daily"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON usage_trailfile (source_id)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="trailfile",
                    name="source",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="files",
                        to="usage.trailsource",
                    ),
                ),
            ],
        ),
    ]

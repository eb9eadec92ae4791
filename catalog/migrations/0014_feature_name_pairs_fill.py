# The word pairs of the groups that existed before 0013's triggers, and their GIN index.
#
# Not atomic, and safe to run again after being killed at any point: the backfill runs in
# batches of 1,000 groups, each its own short transaction, and only inserts what no trigger
# wrote meanwhile (ON CONFLICT DO NOTHING: a trigger's row is always current); the index is
# dropped first if a killed build left it INVALID, then built concurrently. Measured on the
# bench catalogue (50,000 groups, 2,000,000 features): backfill ~25 s, table 3 MB plus 116 MB
# TOAST, index 17 MB.

import django.contrib.postgres.indexes
from django.db import migrations, transaction

BATCH = 1000


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    last = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                "SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM catalog_featuregroup WHERE id > %s"
                " ORDER BY id LIMIT %s) AS batch",
                [last, BATCH],
            )
            (ids,) = cursor.fetchone()
            if not ids:
                return
            cursor.execute("SELECT catalog_feature_name_pairs_refresh(%s::bigint[], false)", [ids])
            last = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0013_feature_name_pairs"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX CONCURRENTLY IF EXISTS feature_name_pairs",
                        "CREATE INDEX CONCURRENTLY feature_name_pairs ON catalog_featurenamepairs USING gin (pairs)",
                    ],
                    "DROP INDEX CONCURRENTLY IF EXISTS feature_name_pairs",
                )
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="featurenamepairs",
                    index=django.contrib.postgres.indexes.GinIndex(fields=["pairs"], name="feature_name_pairs"),
                )
            ],
        ),
        # The planner's estimate of how many groups hold a pair chooses the search's form
        # (catalog.selectors.search); a new table has no statistics until analysed.
        migrations.RunSQL("ANALYZE catalog_featurenamepairs", migrations.RunSQL.noop),
    ]

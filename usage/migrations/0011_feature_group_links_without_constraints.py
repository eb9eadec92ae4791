"""The `feature_group` ids of the raw events and of the rollups that count by ARN lose their
foreign-key constraints (usage.models, GROUP_LINK_NOTE).

Each constraint was checked at commit for every row the ingestion inserted: a query and a row lock
on the group per row, ~10% of PostgreSQL's time in a batch. What it guaranteed is kept:
- no id of a group that is gone: the ingestion and `usage_groups_link` lock the groups they link
  (`FOR KEY SHARE`, once per group and batch), so a delete waits for them to commit;
- ON DELETE SET NULL: the statement trigger `usage_feature_groups_unlink` on `catalog_featuregroup`
  sets the ids of the deleted groups to NULL in the four tables (one UPDATE per table and DELETE
  statement; the constraints did it row by row), for deletes through the ORM too (the fields say
  DO_NOTHING, so Django does not run the same four UPDATEs first).

One short transaction: the trigger is created before the constraints go, so no delete finds
neither. Only catalog changes, no table scan or rewrite; each statement waits at most 10 s for its
lock (`lock_timeout`), so a busy table makes the migration fail, changing nothing, rather than
queue the ingestion and the site behind it — run it again. Reversed by adding the constraints back
`NOT VALID` and validating them, then dropping the trigger; the reverse is one transaction, so
the tables stay locked against writes while the validation scans them (stop the ingestion).
"""

from django.db import migrations, models

TABLES = {
    # table: the constraint's name, as Django made it (the same on every database)
    "usage_cloudtrailevent": "usage_cloudtraileven_feature_group_id_f6e3c776_fk_catalog_f",
    "usage_usagedaily": "usage_usagedaily_feature_group_id_c068b5f0_fk_catalog_f",
    "usage_usagedailytotal": "usage_usagedailytota_feature_group_id_c3695640_fk_catalog_f",
    "usage_usagepairdaily": "usage_usagepairdaily_feature_group_id_44221269_fk_catalog_f",
}

UNLINK = (
    "CREATE OR REPLACE FUNCTION usage_feature_groups_unlink() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    + "".join(
        f"    UPDATE {table} SET feature_group_id = NULL WHERE feature_group_id IN (SELECT id FROM gone);\n"
        for table in TABLES
    )
    + "    RETURN NULL;\nEND\n$$"
)
TRIGGER = (
    "CREATE TRIGGER usage_feature_groups_unlink AFTER DELETE ON catalog_featuregroup"
    " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION usage_feature_groups_unlink()"
)


def _field() -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        db_constraint=False,
        db_index=False,
        null=True,
        on_delete=models.deletion.DO_NOTHING,
        related_name="+",
        to="catalog.featuregroup",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_search_tags"),
        ("usage", "0010_trailfile_source_index"),
    ]

    operations = [
        migrations.RunSQL("SET LOCAL lock_timeout = '10s'", migrations.RunSQL.noop),
        migrations.RunSQL(
            [UNLINK, TRIGGER],
            [
                "DROP TRIGGER IF EXISTS usage_feature_groups_unlink ON catalog_featuregroup",
                "DROP FUNCTION IF EXISTS usage_feature_groups_unlink()",
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}",
                    [
                        f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (feature_group_id)"
                        " REFERENCES catalog_featuregroup (id) DEFERRABLE INITIALLY DEFERRED NOT VALID",
                        f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}",
                    ],
                )
                for table, name in TABLES.items()
            ],
            state_operations=[
                migrations.AlterField(model_name=model, name="feature_group", field=_field())
                for model in ("cloudtrailevent", "usagedaily", "usagedailytotal", "usagepairdaily")
            ],
        ),
    ]

# Search's pre-filter for multi-word feature queries (docs/search.md): per
# group, every pair of words that occur together in one feature name, as a
# tsvector of "a b" lexemes, GIN-indexed, in a narrow table of its own.
#
# Kept by statement-level triggers on catalog_feature (insert, delete, a
# changed name), so every writer keeps it: the sync, older code still running
# while this migrates, tests, a COPY. The backfill runs in batches of 1,000
# groups, each its own short transaction, and only inserts what no trigger
# wrote meanwhile (ON CONFLICT DO NOTHING: a trigger's row is always current);
# the GIN index is built concurrently afterwards. Measured on the bench
# catalogue (50,000 groups, 2,000,000 features): backfill ~25 s, table 3 MB
# plus 116 MB TOAST, index 17 MB.

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models, transaction

FUNCTIONS = r"""
ALTER TABLE catalog_featurenamepairs SET (toast_tuple_target = 128);

-- The pairs of each given group, computed from its features now; `overwrite`
-- false keeps rows already there (the backfill, racing the triggers).
CREATE FUNCTION catalog_feature_name_pairs_refresh(group_ids bigint[], overwrite boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF overwrite THEN
    -- One writer of a group's pairs at a time, until it commits: the statements below then
    -- read the features with a snapshot taken after any earlier writer committed (READ
    -- COMMITTED), so two transactions adding names to one group cannot each store pairs that
    -- miss the other's. Groups in id order, so two writers never wait on each other in a cycle
    -- (ids past 2^31 share keys: they wait a little more, never less).
    PERFORM pg_advisory_xact_lock(1718186611, (g % 2147483647)::int)
       FROM unnest(group_ids) AS g GROUP BY g ORDER BY g;
    DELETE FROM catalog_featurenamepairs p
     WHERE p.feature_group_id = ANY(group_ids)
       AND NOT EXISTS (
             SELECT 1 FROM catalog_feature f
              WHERE f.feature_group_id = p.feature_group_id
                AND array_length(tsvector_to_array(to_tsvector('english'::regconfig, f.name)), 1) > 1);
  END IF;
  INSERT INTO catalog_featurenamepairs AS t (feature_group_id, pairs)
  SELECT c.feature_group_id,
         CASE WHEN cardinality(c.pairs) > 20000 THEN '?'::tsvector ELSE array_to_tsvector(c.pairs) END
    FROM (SELECT f.feature_group_id, array_agg(DISTINCT x.w || ' ' || y.w) AS pairs
            FROM catalog_feature f
           CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('english'::regconfig, f.name))) AS x(w)
           CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('english'::regconfig, f.name))) AS y(w)
           WHERE f.feature_group_id = ANY(group_ids) AND x.w COLLATE "C" < y.w COLLATE "C"
           GROUP BY f.feature_group_id) AS c
  ON CONFLICT (feature_group_id) DO UPDATE SET pairs = EXCLUDED.pairs
   WHERE overwrite AND t.pairs IS DISTINCT FROM EXCLUDED.pairs;
END $$;

CREATE FUNCTION catalog_feature_name_pairs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM catalog_feature_name_pairs_refresh(ARRAY(SELECT DISTINCT feature_group_id FROM new_rows), true);
  RETURN NULL;
END $$;

CREATE FUNCTION catalog_feature_name_pairs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM catalog_feature_name_pairs_refresh(ARRAY(SELECT DISTINCT feature_group_id FROM old_rows), true);
  RETURN NULL;
END $$;

-- Updates: only rows whose name or group changed (metadata updates change neither).
CREATE FUNCTION catalog_feature_name_pairs_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed bigint[];
BEGIN
  changed := ARRAY(
    SELECT g FROM old_rows o JOIN new_rows n ON n.id = o.id,
           LATERAL (VALUES (o.feature_group_id), (n.feature_group_id)) AS v(g)
     WHERE o.name IS DISTINCT FROM n.name OR o.feature_group_id IS DISTINCT FROM n.feature_group_id
     GROUP BY g);
  IF cardinality(changed) > 0 THEN
    PERFORM catalog_feature_name_pairs_refresh(changed, true);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER catalog_feature_name_pairs_insert AFTER INSERT ON catalog_feature
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_feature_name_pairs_inserted();
CREATE TRIGGER catalog_feature_name_pairs_delete AFTER DELETE ON catalog_feature
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_feature_name_pairs_deleted();
CREATE TRIGGER catalog_feature_name_pairs_update AFTER UPDATE ON catalog_feature
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_feature_name_pairs_updated();
"""

FUNCTIONS_REVERSE = r"""
DROP TRIGGER IF EXISTS catalog_feature_name_pairs_insert ON catalog_feature;
DROP TRIGGER IF EXISTS catalog_feature_name_pairs_delete ON catalog_feature;
DROP TRIGGER IF EXISTS catalog_feature_name_pairs_update ON catalog_feature;
DROP FUNCTION IF EXISTS catalog_feature_name_pairs_inserted();
DROP FUNCTION IF EXISTS catalog_feature_name_pairs_deleted();
DROP FUNCTION IF EXISTS catalog_feature_name_pairs_updated();
DROP FUNCTION IF EXISTS catalog_feature_name_pairs_refresh(bigint[], boolean);
"""

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
        ("catalog", "0012_feature_group_name_words"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeatureNamePairs",
            fields=[
                (
                    "feature_group",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="feature_name_pairs",
                        serialize=False,
                        to="catalog.featuregroup",
                    ),
                ),
                ("pairs", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="featurenamepairs",
            index=django.contrib.postgres.indexes.GinIndex(fields=["pairs"], name="feature_name_pairs"),
        ),
        # The planner's estimate of how many groups hold a pair chooses the search's form
        # (catalog.selectors.search); a new table has no statistics until analysed.
        migrations.RunSQL("ANALYZE catalog_featurenamepairs", migrations.RunSQL.noop),
    ]

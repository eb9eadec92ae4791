# Search's pre-filter for multi-word feature queries (docs/search.md): per
# group, every pair of words that occur together in one feature name, as a
# tsvector of "a b" lexemes, GIN-indexed, in a narrow table of its own.
#
# Kept by triggers on catalog_feature (statement triggers on insert and
# delete, a row trigger on a changed name or group), so every writer keeps it:
# the sync, older code still running while this migrates, tests, a COPY. This
# migration is one transaction (table, functions, triggers); 0014 backfills
# and builds the index, and can be run again after being killed.

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = r"""
ALTER TABLE catalog_featurenamepairs SET (toast_tuple_target = 128);

-- The pairs of each given group, computed from its features now (each name's words once); a
-- group left with no pair loses its row. `overwrite` false keeps rows already there (the
-- backfill, racing the triggers).
CREATE FUNCTION catalog_feature_name_pairs_refresh(group_ids bigint[], overwrite boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF overwrite THEN
    -- One writer of a group's pairs at a time, until it commits: the statement below then reads
    -- the features with a snapshot taken after any earlier writer committed (READ COMMITTED, the
    -- only isolation level Pantry uses; under REPEATABLE READ the snapshot would be older), so
    -- two transactions adding names to one group cannot each store pairs that miss the other's.
    -- Keys in their own order (ids past 2^31 share keys), so no two writers wait in a cycle.
    PERFORM pg_advisory_xact_lock(1718186611, k)
       FROM (SELECT DISTINCT (g % 2147483647)::int AS k FROM unnest(group_ids) AS g) AS keys
      ORDER BY k;
  END IF;
  WITH words AS (
    SELECT f.feature_group_id AS g, tsvector_to_array(to_tsvector('english'::regconfig, f.name)) AS ws
      FROM catalog_feature f
     WHERE f.feature_group_id = ANY(group_ids)
  ), found AS (
    SELECT w.g, array_agg(DISTINCT x.w || ' ' || y.w) AS pairs
      FROM words w
     CROSS JOIN LATERAL unnest(w.ws) AS x(w)
     CROSS JOIN LATERAL unnest(w.ws) AS y(w)
     WHERE x.w COLLATE "C" < y.w COLLATE "C"
     GROUP BY w.g
  ), gone AS (
    DELETE FROM catalog_featurenamepairs p
     WHERE overwrite AND p.feature_group_id = ANY(group_ids)
       AND p.feature_group_id NOT IN (SELECT g FROM found)
  )
  INSERT INTO catalog_featurenamepairs AS t (feature_group_id, pairs)
  SELECT g, CASE WHEN cardinality(pairs) > 20000 THEN '?'::tsvector ELSE array_to_tsvector(pairs) END
    FROM found
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

-- A rename or a move between groups (rare: names are the sync's key). A row trigger with a WHEN
-- clause, not a statement one with transition tables: those would copy every updated row (its
-- vectors and JSON) for each metadata update of thousands of features, only to find no name
-- changed.
CREATE FUNCTION catalog_feature_name_pairs_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM catalog_feature_name_pairs_refresh(
    ARRAY(SELECT DISTINCT g FROM unnest(ARRAY[OLD.feature_group_id, NEW.feature_group_id]) AS g ORDER BY g), true);
  RETURN NULL;
END $$;

CREATE TRIGGER catalog_feature_name_pairs_insert AFTER INSERT ON catalog_feature
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_feature_name_pairs_inserted();
CREATE TRIGGER catalog_feature_name_pairs_delete AFTER DELETE ON catalog_feature
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_feature_name_pairs_deleted();
CREATE TRIGGER catalog_feature_name_pairs_update AFTER UPDATE OF name, feature_group_id ON catalog_feature
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.feature_group_id IS DISTINCT FROM NEW.feature_group_id)
  EXECUTE FUNCTION catalog_feature_name_pairs_updated();
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

class Migration(migrations.Migration):
    # All or nothing: the table, its functions and triggers. The backfill and the index, which
    # must run outside one transaction, are 0014's, and safe to run again.
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
    ]

# One writer of a group's word pairs at a time, by a row lock on the group's pairs row instead
# of a transaction-scoped advisory lock per group.
#
# Advisory locks live in PostgreSQL's shared lock table (max_locks_per_transaction ×
# max_connections entries, ~7,800 with the defaults), and a transaction holds each until it
# ends: one statement writing features of more groups than that (a COPY of a catalogue, the
# cascade of an account's groups) failed with "out of shared memory". Row locks are kept in the
# rows themselves, so a statement may lock any number of groups.
#
# The protocol (READ COMMITTED): insert an empty row for each group that has none (a concurrent
# writer's uncommitted insert makes this wait for it), lock every row in key order, then compute
# the pairs with a snapshot taken after the lock. Rows are no longer deleted when a group has no
# pair left (they hold an empty vector, which no query matches): a row deleted between another
# writer's insert and its lock would leave that writer unlocked. A group's row still goes with
# the group.

from django.db import migrations

REFRESH = r"""
-- Each given group's pairs of words occurring together in one feature name (each name's words
-- computed once); groups with no pair are left out.
CREATE FUNCTION catalog_feature_name_pairs_of(group_ids bigint[]) RETURNS TABLE (g bigint, pairs text[])
LANGUAGE sql STABLE AS $$
  WITH words AS (
    SELECT f.feature_group_id AS g, tsvector_to_array(to_tsvector('english'::regconfig, f.name)) AS ws
      FROM catalog_feature f
     WHERE f.feature_group_id = ANY(group_ids)
  )
  SELECT w.g, array_agg(DISTINCT x.w || ' ' || y.w)
    FROM words w
   CROSS JOIN LATERAL unnest(w.ws) AS x(w)
   CROSS JOIN LATERAL unnest(w.ws) AS y(w)
   WHERE x.w COLLATE "C" < y.w COLLATE "C"
   GROUP BY w.g
$$;

-- Lock the given groups' rows (those that exist), in key order, then rewrite their pairs from a
-- snapshot taken after the locks: any writer that locked a row first has committed by then.
CREATE FUNCTION catalog_feature_name_pairs_rewrite(group_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM catalog_featurenamepairs p
    WHERE p.feature_group_id = ANY(group_ids) ORDER BY p.feature_group_id FOR UPDATE;
  UPDATE catalog_featurenamepairs AS t
     SET pairs = n.pairs
    FROM (
      SELECT p.feature_group_id AS g,
             CASE WHEN f.pairs IS NULL THEN ''::tsvector
                  WHEN cardinality(f.pairs) > 20000 THEN '?'::tsvector
                  ELSE array_to_tsvector(f.pairs) END AS pairs
        FROM catalog_featurenamepairs p
        LEFT JOIN catalog_feature_name_pairs_of(group_ids) AS f ON f.g = p.feature_group_id
       WHERE p.feature_group_id = ANY(group_ids)
    ) AS n
   WHERE t.feature_group_id = n.g AND t.pairs IS DISTINCT FROM n.pairs;
END $$;

-- Names added (inserted, renamed, moved): every group gets a row first, so there is one to lock
-- (a concurrent writer's uncommitted row makes the insert wait for it to commit).
CREATE OR REPLACE FUNCTION catalog_feature_name_pairs_refresh(group_ids bigint[], overwrite boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT overwrite THEN
    -- The backfill, racing the triggers: only groups no trigger wrote (a trigger's row is current).
    INSERT INTO catalog_featurenamepairs (feature_group_id, pairs)
    SELECT f.g, CASE WHEN cardinality(f.pairs) > 20000 THEN '?'::tsvector ELSE array_to_tsvector(f.pairs) END
      FROM catalog_feature_name_pairs_of(group_ids) AS f
    ON CONFLICT (feature_group_id) DO NOTHING;
    RETURN;
  END IF;
  -- By the ids given, not the groups this snapshot shows: a group created by a transaction not
  -- yet committed can already have features (foreign keys are checked at commit), and must get
  -- its row too. A row for a group that is gone at commit fails with the feature's own key.
  INSERT INTO catalog_featurenamepairs (feature_group_id, pairs)
  SELECT DISTINCT g, ''::tsvector FROM unnest(group_ids) AS g ORDER BY g
  ON CONFLICT (feature_group_id) DO NOTHING;
  PERFORM catalog_feature_name_pairs_rewrite(group_ids);
END $$;

-- Names removed: only rows that exist are rewritten. No row is created, since the group itself
-- may be going (its row may already be deleted). A writer adding names concurrently to a group
-- with no row yet may keep a pair of a removed name: an extra pair only makes search look at a
-- group that then does not match; a missing one would hide a match, and cannot happen.
CREATE OR REPLACE FUNCTION catalog_feature_name_pairs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM catalog_feature_name_pairs_rewrite(ARRAY(SELECT DISTINCT feature_group_id FROM old_rows));
  RETURN NULL;
END $$;
"""

# 0013's function, as it was.
REFRESH_REVERSE = r"""
CREATE OR REPLACE FUNCTION catalog_feature_name_pairs_refresh(group_ids bigint[], overwrite boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF overwrite THEN
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

CREATE OR REPLACE FUNCTION catalog_feature_name_pairs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM catalog_feature_name_pairs_refresh(ARRAY(SELECT DISTINCT feature_group_id FROM old_rows), true);
  RETURN NULL;
END $$;

DROP FUNCTION IF EXISTS catalog_feature_name_pairs_rewrite(bigint[]);
DROP FUNCTION IF EXISTS catalog_feature_name_pairs_of(bigint[]);
DELETE FROM catalog_featurenamepairs WHERE pairs = ''::tsvector;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0014_feature_name_pairs_fill"),
    ]

    operations = [
        migrations.RunSQL(REFRESH, REFRESH_REVERSE),
    ]

from django.db import migrations

# catalog_search_word had a primary key on `word`, and its trigger inserted
# with ON CONFLICT DO NOTHING. Two syncs writing features at the same time
# (the demo's worker runs two) then wait on each other's uncommitted index
# entries for shared words such as "customer" or "count", in opposite orders,
# and PostgreSQL kills one with a deadlock. The table is only a dictionary for
# typo correction, so it now takes plain inserts of words not yet present: no
# insert ever waits, and the rare duplicate from a race is harmless (the
# correction query reads one matching word).
FORWARD_SQL = """
ALTER TABLE catalog_search_word DROP CONSTRAINT IF EXISTS catalog_search_word_pkey;
CREATE INDEX IF NOT EXISTS catalog_search_word_word ON catalog_search_word (word);

CREATE OR REPLACE FUNCTION catalog_search_word_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catalog_search_word (word)
    SELECT DISTINCT w FROM regexp_split_to_table(lower(NEW.name), '[^a-z]+') AS w
     WHERE length(w) >= 3
       AND NOT EXISTS (SELECT 1 FROM catalog_search_word s WHERE s.word = w);
  RETURN NULL;
END
$$;
"""

REVERSE_SQL = """
DELETE FROM catalog_search_word a USING catalog_search_word b WHERE a.ctid < b.ctid AND a.word = b.word;
DROP INDEX IF EXISTS catalog_search_word_word;
ALTER TABLE catalog_search_word ADD PRIMARY KEY (word);

CREATE OR REPLACE FUNCTION catalog_search_word_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO catalog_search_word (word)
    SELECT DISTINCT w FROM regexp_split_to_table(lower(NEW.name), '[^a-z]+') AS w WHERE length(w) >= 3
    ON CONFLICT (word) DO NOTHING;
  RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_lineage_refresh")]

    operations = [migrations.RunSQL(FORWARD_SQL, REVERSE_SQL)]

"""The rollups derived from `UsageDaily` / `UsageDailyTotal` for the dashboard's slow figures,
filled from them (the migrations that created them did so; the benchmark and the tests' fixtures
too). The ingestion writes the same rows from the events it inserts (`usage.services._MOVE_SQL`).
"""

from __future__ import annotations

from django.db import connection, transaction

# `{where}` narrows the source rows (the benchmark fills only its own).
PRINCIPAL_DAILY_FILL_SQL = """
    INSERT INTO usage_usageprincipaldaily (day, consumer_account_id, principal_arn, calls, feature_group_arns)
    SELECT day, consumer_account_id, principal_arn, sum(calls),
        coalesce(array_agg(DISTINCT feature_group_arn ORDER BY feature_group_arn)
            FILTER (WHERE feature_group_arn <> ''), '{{}}')
    FROM usage_usagedaily WHERE outcome = 'success' AND ({where})
    GROUP BY 1, 2, 3
    """
PAIR_DAILY_FILL_SQL = """
    INSERT INTO usage_usagepairdaily (day, feature_group_id, feature_group_arn, owner_account_id,
        consumer_account_id, calls)
    SELECT day, max(feature_group_id), feature_group_arn, owner_account_id, consumer_account_id, sum(calls)
    FROM usage_usagedailytotal WHERE outcome = 'success' AND ({where})
    GROUP BY day, feature_group_arn, owner_account_id, consumer_account_id
    """
LAST_USE_FILL_SQL = """
    INSERT INTO usage_usagelastuse (feature_group_arn, consumer_account_id, operation, last_day)
    SELECT feature_group_arn, consumer_account_id, operation, max(day)
    FROM usage_usagedailytotal WHERE outcome = 'success' AND feature_group_arn <> '' AND ({where})
    GROUP BY 1, 2, 3
    """
DERIVED_FILL_SQL = [PRINCIPAL_DAILY_FILL_SQL, PAIR_DAILY_FILL_SQL, LAST_USE_FILL_SQL]


def derived_rollups_fill(*, where: str = "TRUE", params: list | None = None) -> None:
    """Insert the derived rows of the rollups matching `where` (the derived tables must not hold them yet)."""
    with connection.cursor() as cursor:
        for sql in DERIVED_FILL_SQL:
            cursor.execute(sql.format(where=where), params or [])


# The tables the derived rollups are computed from, and the derived ones themselves.
_BASE_TABLES = ("usage_usagedaily", "usage_usagedailytotal")
_DERIVED_BY_DAY = ("usage_usageprincipaldaily", "usage_usagepairdaily")
_LAST_USE = "usage_usagelastuse"
REBUILD_LOCK_TIMEOUT = "60s"


def derived_rollups_rebuild(*, since=None) -> dict[str, int]:
    """Recompute the derived rollups from `UsageDaily` / `UsageDailyTotal`: the days from `since`
    (every day when None) of the principals' and pairs' daily rollups, and the whole last-use
    table (a last day may lie before `since`). Returns the rows written per table.

    For an operator who ran a release's migration while ingestion workers were still writing (a
    back-filled rollup then misses what they committed meanwhile), or who finds a derived figure
    that disagrees with the base rollups. One transaction: an interrupted rebuild changes nothing.
    It first locks the base and derived tables against writes (SHARE ROW EXCLUSIVE: reads go on),
    so ingestion batches, which write base and derived rows in one transaction, wait for it rather
    than land between its delete and its refill; after `REBUILD_LOCK_TIMEOUT` of waiting for a
    batch in flight it gives up with an error and can simply be run again.
    """
    day_filter, params = ("day >= %s", [since]) if since else ("TRUE", [])
    written: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = %s", [REBUILD_LOCK_TIMEOUT])
        cursor.execute(
            f"LOCK TABLE {', '.join((*_BASE_TABLES, *_DERIVED_BY_DAY, _LAST_USE))} IN SHARE ROW EXCLUSIVE MODE"
        )
        for table in _DERIVED_BY_DAY:
            cursor.execute(f"DELETE FROM {table} WHERE {day_filter}", params)  # noqa: S608 - constant names
        cursor.execute(f"DELETE FROM {_LAST_USE}")  # noqa: S608 - constant name
        for table, sql, where, args in (
            ("usage_usageprincipaldaily", PRINCIPAL_DAILY_FILL_SQL, day_filter, params),
            ("usage_usagepairdaily", PAIR_DAILY_FILL_SQL, day_filter, params),
            (_LAST_USE, LAST_USE_FILL_SQL, "TRUE", []),
        ):
            cursor.execute(sql.format(where=where), args)
            written[table] = cursor.rowcount
    return written

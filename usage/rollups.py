"""The rollups derived from `UsageDaily` / `UsageDailyTotal` for the dashboard's slow figures,
filled from them (the migrations that created them did so; the benchmark and the tests' fixtures
too). The ingestion writes the same rows from the events it inserts (`usage.services._MOVE_SQL`).
"""

from __future__ import annotations

from django.db import connection

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

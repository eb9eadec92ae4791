"""Feature group popularity from usage: what the catalog's "Most used" sort and blended ranking read.

The catalog keeps `FeatureGroup.popularity` as a column (indexed for the
"Most used" sort, and multiplied into the text rank as `1 + w·ln(1 + p)`,
see catalog.selectors.search), so search never aggregates usage per query.
This service refreshes that column from the daily rollups (`UsageDailyTotal`, the
principal-less one) in one UPDATE.

Popularity is the number of successful *read* calls (GetRecord,
BatchGetRecord, DescribeFeatureGroup, DescribeFeatureMetadata...) over the
last `days` days, by any account other than the group's own, plus ten per
distinct such account: a group that five teams read a little ranks above one
a single pipeline polls heavily. Writes (an owner's ingestion job) do not
make a group popular. Groups whose usage fell out of the window go back to 0.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from usage.selectors import DEFAULT_DAYS

ACCOUNT_WEIGHT = 10

_REFRESH_SQL = """
WITH used AS (
    SELECT u.feature_group_id AS id,
           SUM(u.calls) + %(weight)s * COUNT(DISTINCT u.consumer_account_id) AS score
    FROM usage_usagedailytotal u
    WHERE u.day >= %(since)s AND u.day <= %(until)s
      AND u.outcome = 'success' AND u.read_only
      AND u.feature_group_id IS NOT NULL
      AND u.consumer_account_id <> u.owner_account_id
    GROUP BY u.feature_group_id
)
UPDATE catalog_featuregroup g
SET popularity = COALESCE(used.score, 0)
FROM catalog_featuregroup g2
LEFT JOIN used ON used.id = g2.id
WHERE g.id = g2.id AND g.popularity IS DISTINCT FROM COALESCE(used.score, 0)
"""


def feature_groups_popularity_refresh(*, days: int = DEFAULT_DAYS, today: date | None = None) -> int:
    """Set every feature group's popularity from the last `days` days of rollups; returns rows changed.

    Only rows whose figure changed are written, so a refresh with nothing new
    touches nothing (and does not churn the table's index).
    """
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REFRESH_SQL, {"weight": ACCOUNT_WEIGHT, "since": since, "until": today})
        return cursor.rowcount

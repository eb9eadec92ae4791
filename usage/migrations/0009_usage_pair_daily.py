"""`UsagePairDaily`: successful calls per day, feature group and consumer account, for grants vs
use (docs/usage.md#speed), filled from `UsageDailyTotal`. Stop the ingestion workers while this
runs (as for any release that changes the ingestion's statement): the new table is written by
the new code only, so calls an old worker commits after the back-fill would be missing from it
(`manage.py usage_rollups_rebuild` puts them back).

One transaction (the table is new: nothing reads it before the commit), so an interrupted run
leaves nothing and runs again from the start.
"""

import django.db.models.deletion
from django.db import migrations, models

# The rows the ingestion would have written (usage.services._MOVE_SQL), from the principal-less
# rollup; the same SQL as usage.rollups.DERIVED_FILL_SQL, frozen here.
BACKFILL = """
INSERT INTO usage_usagepairdaily (day, feature_group_id, feature_group_arn, owner_account_id, consumer_account_id, calls)
SELECT day, max(feature_group_id), feature_group_arn, owner_account_id, consumer_account_id, sum(calls)
FROM usage_usagedailytotal WHERE outcome = 'success'
GROUP BY day, feature_group_arn, owner_account_id, consumer_account_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_search_tags"),
        ("usage", "0008_usage_covering_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsagePairDaily",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("feature_group_arn", models.CharField(blank=True, max_length=2048)),
                ("owner_account_id", models.CharField(blank=True, max_length=12)),
                ("consumer_account_id", models.CharField(blank=True, max_length=12)),
                ("calls", models.PositiveBigIntegerField(default=0)),
                (
                    "feature_group",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="catalog.featuregroup",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "feature_group_arn", "owner_account_id", "consumer_account_id"),
                        name="usagepairdaily_unique_dimensions",
                    )
                ],
            },
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]

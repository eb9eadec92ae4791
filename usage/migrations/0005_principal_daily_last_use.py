"""Rollups shaped for the dashboard's slow figures (docs/usage.md#speed), filled from the
existing rollups. Stop the ingestion workers while this runs (as for any release that changes
the ingestion's statement), or run `manage.py usage_rollups_rebuild` once the new code is out:
the new tables are written by the new code only."""

import django.contrib.postgres.fields
from django.db import migrations, models


# The rows the ingestion would have written (usage.services._MOVE_SQL), from the rollups; the
# same SQL as usage.rollups.DERIVED_FILL_SQL, frozen here.
BACKFILL = [
    """
    INSERT INTO usage_usageprincipaldaily (day, consumer_account_id, principal_arn, calls, feature_group_arns)
    SELECT day, consumer_account_id, principal_arn, sum(calls),
        coalesce(array_agg(DISTINCT feature_group_arn ORDER BY feature_group_arn)
            FILTER (WHERE feature_group_arn <> ''), '{}')
    FROM usage_usagedaily WHERE outcome = 'success'
    GROUP BY 1, 2, 3
    """,
    """
    INSERT INTO usage_usagelastuse (feature_group_arn, consumer_account_id, operation, last_day)
    SELECT feature_group_arn, consumer_account_id, operation, max(day)
    FROM usage_usagedailytotal WHERE outcome = 'success' AND feature_group_arn <> ''
    GROUP BY 1, 2, 3
    """,
]


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0010_search_perf'),
        ('usage', '0004_usage_daily_total'),
    ]

    operations = [
        migrations.CreateModel(
            name='UsageLastUse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('feature_group_arn', models.CharField(max_length=2048)),
                ('consumer_account_id', models.CharField(blank=True, max_length=12)),
                ('operation', models.CharField(max_length=64)),
                ('last_day', models.DateField()),
            ],
        ),
        migrations.CreateModel(
            name='UsagePrincipalDaily',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('consumer_account_id', models.CharField(blank=True, max_length=12)),
                ('principal_arn', models.CharField(blank=True, max_length=2048)),
                ('calls', models.PositiveBigIntegerField(default=0)),
                ('feature_group_arns', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=2048), blank=True, default=list, size=None)),
            ],
        ),
        migrations.AddConstraint(
            model_name='usagelastuse',
            constraint=models.UniqueConstraint(fields=('feature_group_arn', 'consumer_account_id', 'operation'), name='usagelastuse_unique_dimensions'),
        ),
        migrations.AddIndex(
            model_name='usageprincipaldaily',
            index=models.Index(fields=['day'], include=('consumer_account_id', 'principal_arn', 'calls'), name='usageprincipaldaily_day'),
        ),
        migrations.AddConstraint(
            model_name='usageprincipaldaily',
            constraint=models.UniqueConstraint(fields=('consumer_account_id', 'principal_arn', 'day'), name='usageprincipaldaily_unique_dimensions'),
        ),
        # Consumer account and principal go together: without this PostgreSQL takes the window's
        # (account, principal) pairs for nearly all distinct and sorts the window on disk
        # instead of hashing it.
        migrations.RunSQL(
            "CREATE STATISTICS usageprincipaldaily_who (ndistinct) ON consumer_account_id, principal_arn "
            "FROM usage_usageprincipaldaily",
            "DROP STATISTICS usageprincipaldaily_who",
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]

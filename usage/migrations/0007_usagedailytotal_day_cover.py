"""`UsageDailyTotal (day)` becomes a covering index (the window's figures read only its columns),
replacing the plain one; built concurrently, the ingestion keeps writing the table."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0006_usagedaily_denied_day"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="usagedailytotal",
            index=models.Index(
                fields=["day"],
                include=["operation", "outcome", "read_only", "calls", "feature_group_id", "consumer_account_id"],
                name="usagedailytotal_day_cover",
            ),
        ),
        RemoveIndexConcurrently(model_name="usagedailytotal", name="usagedailytotal_day"),
    ]

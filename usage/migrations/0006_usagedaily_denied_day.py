"""A partial index for the denied calls table: the window's few denied rollups, not all of them.
Built concurrently: `UsageDaily` is large and the ingestion keeps writing it."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("usage", "0005_principal_daily_last_use"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="usagedaily",
            index=models.Index(condition=models.Q(("outcome", "denied")), fields=["day"], name="usagedaily_denied_day"),
        ),
    ]

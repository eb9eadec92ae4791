from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Extensions for search: trigram fuzzy matching, GIN on scalars, accent folding."""

    dependencies = [("catalog", "0001_initial")]

    operations = [TrigramExtension(), BtreeGinExtension(), UnaccentExtension()]

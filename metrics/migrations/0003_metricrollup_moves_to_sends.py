"""Django's state of the rollups moves to sends (sends 0003); the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("metrics", "0002_sqlite_unique_key"), ("sends", "0003_metricrollup_moves_to_sends")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="MetricRollup")]),
    ]

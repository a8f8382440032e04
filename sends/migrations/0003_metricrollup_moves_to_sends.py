"""The rollups move from metrics to sends (the engagement pipeline writes them in the transaction
of each fact; metrics reads them). The table stays where it is: only Django's state moves."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kraiter", "0001_initial"),
        ("metrics", "0002_sqlite_unique_key"),
        ("sends", "0002_delivery_outcomes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MetricRollup",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("scope", models.CharField(choices=[("all", "All"), ("template", "Template"), ("sequence", "Sequence")], max_length=8)),
                        ("scope_id", models.CharField(blank=True, default="", max_length=64)),
                        ("bucket", models.DateTimeField(help_text="Start of the quarter hour (UTC).")),
                        ("sent", models.BigIntegerField(default=0)),
                        ("delivered", models.BigIntegerField(default=0)),
                        ("opened", models.BigIntegerField(default=0)),
                        ("clicked", models.BigIntegerField(default=0)),
                        ("bounced", models.BigIntegerField(default=0)),
                        ("complained", models.BigIntegerField(default=0)),
                        ("organisation", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="kraiter.organisation")),
                    ],
                    options={
                        "db_table": "metrics_metricrollup",
                        "constraints": [models.UniqueConstraint(fields=("organisation", "scope", "scope_id", "bucket"), include=("sent", "delivered", "opened", "clicked", "bounced", "complained"), name="rollup_key_uniq")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

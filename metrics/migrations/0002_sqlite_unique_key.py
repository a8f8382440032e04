"""SQLite builds no index for a unique constraint with INCLUDE columns (0001's rollup_key_uniq):
give it the plain unique index the rollups' upsert needs as its conflict target."""

from typing import Any

from django.db import migrations


def create_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS rollup_key_uniq_plain "
            "ON metrics_metricrollup (organisation_id, scope, scope_id, bucket)"
        )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS rollup_key_uniq_plain")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]

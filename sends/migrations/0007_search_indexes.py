"""The admin's search by part of an address or of a subject (kraiter.admin_search): trigram
indexes on the expressions `email__icontains` and `subject__icontains` produce, UPPER(col::text).
PostgreSQL only; built CONCURRENTLY, so the send log stays writable while they are made."""

from typing import Any

from django.db import migrations

INDEXES = {"send_email_trgm_idx": "email", "send_subject_trgm_idx": "subject"}


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON sends_send USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("sends", "0006_sendcontent_sender")]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]

"""GET /api/contacts?search= is a case-insensitive substring match (UPPER(email) LIKE UPPER('%x%')).
A B-tree cannot answer that; a trigram index can. PostgreSQL only (SQLite, the embedded mode,
scans its small tables)."""

from typing import Any

from django.db import migrations


def create_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS contact_email_trgm_idx ON contacts_contact USING gin (UPPER(email::text) gin_trgm_ops)"
    )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contact_email_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]

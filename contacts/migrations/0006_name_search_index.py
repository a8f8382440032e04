"""The admin's search by name (kraiter.admin_search.NAME_SQL): a trigram index on the contact's
firstName, lastName and name read as one string. PostgreSQL only; built CONCURRENTLY, so a big
contacts table stays writable while it is made."""

from typing import Any

from django.db import migrations

from kraiter.admin_search import NAME_SQL


def create_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS contact_name_trgm_idx ON contacts_contact USING gin (({NAME_SQL}) gin_trgm_ops)"
    )


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS contact_name_trgm_idx")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("contacts", "0005_event_reaction_notes")]
    operations = [migrations.RunPython(create_index, drop_index)]

"""Several writes sent to the database in one round trip.

A hot path that makes several writes in one transaction (the engagement pipeline: the send, the
rollups, the event) waits on the database once per statement. `Statements` collects them and
`run()` sends them together: on PostgreSQL with client-side binding (Django's default cursor)
as one query string, which the simple query protocol executes in order, stopping at the first
error; elsewhere (SQLite, or PostgreSQL with server-side binding, DATABASE_PREPARE_THRESHOLD)
one by one. Only writes whose results nobody reads belong here. The SQL is built from a model's
own fields (`insert_statement`, `update_statement`), so values are prepared as the ORM would.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.db.models import Model

from kraiter.rows import insert_sql

Statement = tuple[str, list[Any]]


class Statements:
    def __init__(self) -> None:
        self._pending: list[Statement] = []
        self._keys: set[str] = set()

    def add(self, sql: str, params: Iterable[Any] = (), *, once: str | None = None) -> None:
        """Queues a statement; with `once`, only the first statement of that key (until run)."""
        if once is not None:
            if once in self._keys:
                return
            self._keys.add(once)
        self._pending.append((sql, list(params)))

    def __len__(self) -> int:
        return len(self._pending)

    def run(self) -> None:
        """Executes the queued statements, in order, and forgets them."""
        pending, self._pending = self._pending, []
        self._keys.clear()
        if not pending:
            return
        with connection.cursor() as cursor:
            if len(pending) > 1 and _takes_several(cursor):
                cursor.execute(*_one_string(pending))
                return
            for sql, params in pending:
                cursor.execute(sql, params)


def first_rows(*queries: Statement) -> list[tuple[Any, ...] | None]:
    """Runs the queries in order, in one round trip where the cursor allows (as `Statements.run`),
    and returns the first row of each (None for one that returned no row)."""
    rows: list[tuple[Any, ...] | None] = []
    with connection.cursor() as cursor:
        if len(queries) > 1 and _takes_several(cursor):
            cursor.execute(*_one_string(queries))
            rows.append(cursor.fetchone())
            while cursor.nextset():
                rows.append(cursor.fetchone())
            return rows
        for sql, params in queries:
            cursor.execute(sql, params)
            rows.append(cursor.fetchone())
    return rows


def _one_string(statements: Iterable[Statement]) -> Statement:
    """Several statements as one query string, with their parameters in order."""
    statements = list(statements)
    return "; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params]


def _takes_several(cursor: Any) -> bool:
    """Whether one execute may hold several statements: psycopg's ClientCursor (client-side
    binding, the simple query protocol) does; server-side binding and SQLite do not."""
    if connection.vendor != "postgresql":
        return False
    import psycopg

    return isinstance(getattr(cursor, "cursor", None), psycopg.ClientCursor)


def insert_statement(instance: Model) -> Statement:
    """The INSERT of an unsaved instance, with the values save() would write (kraiter.rows)."""
    return insert_sql([instance], connection)


def update_statement(model: type[Model], pk: Any, values: Mapping[str, Any]) -> Statement:
    """UPDATE of one row by primary key, setting `values` (field name → value)."""
    meta = model._meta
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name, value in values.items():
        field: Any = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    pk_field: Any = meta.pk
    params.append(pk_field.get_db_prep_value(pk, connection))
    return (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} WHERE {quote(pk_field.column)} = %s",
        params,
    )

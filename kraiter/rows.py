"""Model instances from hand-written SQL, for the few hot paths that read several tables in one
round trip (the send service, delivery's claim, API key lookup): building an ORM query costs
0.5-1 ms of CPU per statement, several times what PostgreSQL spends answering it.

A `Columns` selects every concrete field of one model under a table alias and turns its slice of
a result row back into an instance, with the converters Django's own compiler applies (prefixed
ids, JSON), so the instance is the one `Model.objects.get` would return.
"""

from typing import Any, Generic, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)


class Columns(Generic[M]):
    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.width = len(self.fields)
        self.pk_index = self.fields.index(model._meta.pk)
        self._converters: dict[str, list[list[Any]]] = {}

    def sql(self) -> str:
        """`alias."column", ...` for the select list, in the order `read` expects."""
        return ", ".join(f'{self.alias}."{field.column}"' for field in self.fields)

    def _converters_for(self, connection: BaseDatabaseWrapper) -> list[list[Any]]:
        found = self._converters.get(connection.vendor)
        if found is None:
            found = []
            for field in self.fields:
                column = field.get_col(self.model._meta.db_table)
                converters = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
                found.append([(converter, column) for converter in converters])
            self._converters[connection.vendor] = found
        return found

    def read(self, row: tuple[Any, ...], start: int, connection: BaseDatabaseWrapper) -> M | None:
        """The instance in row[start:start + width]; None when its primary key is NULL (an outer
        join that found nothing)."""
        values = list(row[start : start + self.width])
        if values[self.pk_index] is None:
            return None
        for index, converters in enumerate(self._converters_for(connection)):
            for converter, column in converters:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def read_row(row: tuple[Any, ...], connection: BaseDatabaseWrapper, *columns: "Columns[Any]") -> list[Any]:
    """The instances of `columns`, in order, from one row that selected them side by side
    (`a.sql(), b.sql(), ...`); each None where its primary key is NULL."""
    instances, start = [], 0
    for each in columns:
        instances.append(each.read(row, start, connection))
        start += each.width
    return instances


def insert_sql(objs: list[models.Model], connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
    """`INSERT INTO table (columns) ...` for new instances of one model, with the values
    bulk_create would write (each field's pre_save and database preparation), and marks them
    saved. Several can go out as one statement (insert_many).

    On PostgreSQL several rows go as one array per column, `SELECT * FROM unnest(...)`: the
    statement has one placeholder per column however many rows it carries, so psycopg composes
    it from its cache and PostgreSQL parses a few hundred characters, where VALUES with 30,000
    placeholders cost more CPU to compose and parse than the rows cost to write."""
    connection = connections[connection.alias]  # not django.db.connection's proxy, once per value
    model = type(objs[0])
    meta = model._meta
    fields = [
        field
        for field in meta.local_concrete_fields
        # an auto-increment key left to the database (which then does not set it on the instance)
        if not (field is meta.auto_field and getattr(objs[0], field.attname) is None)
    ]
    rows = []
    for obj in objs:
        rows.append([field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields])
        obj._state.adding, obj._state.db = False, connection.alias
    columns = ", ".join(f'"{field.column}"' for field in fields)
    insert = f'INSERT INTO "{meta.db_table}" ({columns})'
    if connection.vendor == "postgresql" and len(rows) > 1:
        arrays = ", ".join(f"%s::{_array_type(field, connection)}" for field in fields)
        return f"{insert} SELECT * FROM unnest({arrays})", [list(column) for column in zip(*rows, strict=True)]  # noqa: S608
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"{insert} VALUES {', '.join([row] * len(rows))}", [value for each in rows for value in each]


def _array_type(field: models.Field, connection: BaseDatabaseWrapper) -> str:
    """The array type a column's values travel in: the column's own, but text for a varchar(n),
    so that a value too long fails the INSERT (a cast to varchar(n) would cut it short)."""
    column_type = field.rel_db_type(connection) or "text"
    return ("text" if column_type.startswith(("varchar", "char")) else column_type) + "[]"


def insert_many(groups: list[list[Any]], connection: BaseDatabaseWrapper) -> None:
    """Inserts each group (new instances of one model; empty groups are skipped) in one round trip,
    in order (`insert_many_sql`)."""
    statement = insert_many_sql(groups, connection)
    if statement is not None:
        with connection.cursor() as cursor:
            cursor.execute(*statement)


def insert_many_sql(groups: list[list[Any]], connection: BaseDatabaseWrapper) -> tuple[str, list[Any]] | None:
    """One statement inserting each group in order (None when all are empty): on PostgreSQL the
    earlier INSERTs are data-modifying WITH clauses of the last, so a row may reference one
    inserted before it (the foreign keys are checked at the statement's end)."""
    statements = [insert_sql(group, connection) for group in groups if group]
    if not statements:
        return None
    *first, (last_sql, last_params) = statements
    sql = ", ".join(f"i{n} AS ({each})" for n, (each, _params) in enumerate(first))
    params = [param for _sql, each in first for param in each] + last_params
    return (f"WITH {sql} {last_sql}" if first else last_sql), params

"""Model instances from hand-written SQL, for the few hot paths that read several tables in one
round trip (the send service, delivery's claim, API key lookup): building an ORM query costs
0.5-1 ms of CPU per statement, several times what PostgreSQL spends answering it.

A `Columns` selects every concrete field of one model under a table alias and turns its slice of
a result row back into an instance, with the converters Django's own compiler applies (prefixed
ids, JSON), so the instance is the one `Model.objects.get` would return.
"""

import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from kraiter.api.ids import PrefixedIdField, id_to_uuid

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
    """`INSERT INTO table (columns) VALUES ...` for new instances of one model, with the values
    bulk_create would write (`row_values`), and marks them saved. Several can go out as one
    statement (insert_many). Meant for a few rows: many go faster by `copy_rows`."""
    connection = connections[connection.alias]  # not django.db.connection's proxy, once per value
    fields, rows = row_values(objs, connection)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f'INSERT INTO "{objs[0]._meta.db_table}" ({columns}) VALUES {", ".join([row] * len(rows))}',  # noqa: S608
        [value for each in rows for value in each],
    )


def copy_rows(objs: list[models.Model], connection: BaseDatabaseWrapper) -> None:
    """Writes new instances of one model with PostgreSQL's COPY (`row_values`), and marks them
    saved: psycopg formats each row in C, where an INSERT's parameters (a VALUES list, or one
    array per column) are composed in Python, value by value: for the dispatcher's batch of
    1,000 sends that was a third of its time. A value too long for its column fails the COPY."""
    connection = connections[connection.alias]
    fields, rows = row_values(objs, connection)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    statement = f'COPY "{objs[0]._meta.db_table}" ({columns}) FROM STDIN'
    # psycopg's own cursor, under Django's error wrapper (a failure raises django.db's errors)
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def row_values(objs: list[models.Model], connection: BaseDatabaseWrapper) -> tuple[list[Any], list[list[Any]]]:
    """The columns to write and, for each instance (all of one model), the values bulk_create
    would write: each field's pre_save and database preparation, except where the attribute
    already holds what that preparation would return (a str for a character column, an aware
    datetime, ...): Django's chain of four calls per value was most of the cost of a bulk
    INSERT. Marks the instances saved."""
    meta = objs[0]._meta
    plan = [
        (field, field.attname, *_fast_path(field, connection))
        for field in meta.local_concrete_fields
        # an auto-increment key left to the database (which then does not set it on the instance)
        if not (field is meta.auto_field and getattr(objs[0], field.attname) is None)
    ]
    rows = []
    for obj in objs:
        values, row = obj.__dict__, []
        for field, attname, ready, prefix in plan:
            value = values[attname] if ready else None
            if ready and (value is None or type(value) in ready):
                if ready is _AWARE_DATETIME and value is not None and value.tzinfo is None:
                    value = field.get_db_prep_save(value, connection)  # warns, and makes it aware
                row.append(value)
            else:
                row.append(_prepared(field, obj, value, prefix, connection))
        rows.append(row)
        obj._state.adding, obj._state.db = False, connection.alias
    return [field for field, *_how in plan], rows


def _prepared(field: models.Field, obj: models.Model, value: Any, prefix: str, connection: BaseDatabaseWrapper) -> Any:
    if prefix and type(value) is str:
        try:
            return id_to_uuid(value, prefix)
        except ValueError:
            pass  # Django's preparation says what is wrong with it
    return field.get_db_prep_save(field.pre_save(obj, True), connection)


_AWARE_DATETIME = (datetime,)
_READY: dict[type[models.Field], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.EmailField: (str,),
    models.BooleanField: (bool,),
    models.IntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.BigIntegerField: (int,),
    models.AutoField: (int,),
    models.BigAutoField: (int,),
}


def _fast_path(field: models.Field, connection: BaseDatabaseWrapper) -> tuple[tuple[type, ...], str]:
    """The Python types a field's attribute holds when it is already its database value (empty:
    always prepared by Django), and the prefix of a prefixed id (a key, or a foreign key to one),
    which travels as the UUID `id_to_uuid` makes of it. Exact classes only: a subclass may prepare
    differently."""
    if connection.vendor != "postgresql":
        return (), ""
    if isinstance(field, models.ForeignKey):
        field = field.target_field  # a foreign key's value is its target's
    if isinstance(field, PrefixedIdField):
        return (uuid.UUID,), field.prefix
    if type(field) is models.DateTimeField:
        return (() if field.auto_now or field.auto_now_add else _AWARE_DATETIME), ""
    return _READY.get(type(field), ()), ""


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

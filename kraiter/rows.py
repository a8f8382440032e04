"""Model instances from hand-written SQL, for the few hot paths that read several tables in one
round trip (the send service, delivery's claim, API key lookup): building an ORM query costs
0.5-1 ms of CPU per statement, several times what PostgreSQL spends answering it.

A `Columns` selects every concrete field of one model under a table alias and turns its slice of
a result row back into an instance, with the converters Django's own compiler applies (prefixed
ids, JSON), so the instance is the one `Model.objects.get` would return.
"""

from typing import Any, Generic, TypeVar

from django.db import models
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

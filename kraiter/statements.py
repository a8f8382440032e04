"""Fewer round trips to the database on the hot paths.

A hot path that makes several writes in one transaction (the engagement pipeline: the send, the
rollups, the event) waits on the database once per statement. `Statements` collects them and
`run()` sends them together: on PostgreSQL with client-side binding (Django's default cursor)
as one query string, which the simple query protocol executes in order, stopping at the first
error; elsewhere (SQLite, or PostgreSQL with server-side binding, DATABASE_PREPARE_THRESHOLD)
one by one. Only writes whose results nobody reads belong here. The SQL is built from a model's
own fields (`insert_statement`, `update_statement`), so values are prepared as the ORM would.

The transaction's own round trips ride along where they can (same cursors only):
- BEGIN: psycopg sends it alone before a transaction's first statement; when that statement is
  one of ours (`first_rows`, `Statements.run`), BEGIN goes in its query string instead.
- COMMIT: `Statements.run(commit=True)` from the outermost atomic block, for its last
  statements, puts COMMIT in their string; Django's commit at the block's end then finds the
  transaction ended and psycopg sends nothing. A failure anywhere in the string (COMMIT's
  deferred checks included) is raised there, and the block rolls back as usual.
- Django's connection health check (CONN_HEALTH_CHECKS: a `SELECT 1` before a request's first
  query): `checked_by_first_statement` lets an idempotent call's own first statement check the
  connection instead, and runs the call again on a new connection when it was dead.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Model

from kraiter.rows import copy_rows, insert_many_sql, insert_sql

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

    def run(self, *, commit: bool = False) -> None:
        """Executes the queued statements, in order, and forgets them. `commit`: the caller's
        block is the outermost one and these are its last statements (nothing follows them in
        it), so COMMIT may go in the same round trip."""
        pending, self._pending = self._pending, []
        self._keys.clear()
        if not pending:
            return
        with connection.cursor() as cursor:
            if not _together(cursor, pending, commit=commit):
                for sql, params in pending:
                    cursor.execute(sql, params)


def first_rows(*queries: Statement) -> list[tuple[Any, ...] | None]:
    """Runs the queries in order, in one round trip where the cursor allows (as `Statements.run`),
    and returns the first row of each (None for one that returned no row)."""
    rows: list[tuple[Any, ...] | None] = []
    with connection.cursor() as cursor:
        if _together(cursor, queries):
            rows.append(cursor.fetchone())
            while cursor.nextset():
                rows.append(cursor.fetchone())
            return rows
        for sql, params in queries:
            cursor.execute(sql, params)
            rows.append(cursor.fetchone())
    return rows


T = TypeVar("T")


def checked_by_first_statement(call: Callable[[], T]) -> T:
    """call(), without Django's health check of a reused connection (one round trip per
    request): if call() fails on a connection that turns out to be dead (the database
    restarted, a proxy dropped it), the connection is replaced and call() runs once more.
    Only for a call that is safe to repeat after a failure, made outside any atomic block: the
    SES intake (a notification is applied once, however often it comes) and an API key's lookup
    (a read, the first statement of every API request)."""
    database: Any = connection  # its health-check attributes are not in django-stubs
    if database.connection is None or not database.health_check_enabled or database.health_check_done:
        return call()
    database.health_check_done = True
    raw = connection.connection
    try:
        return call()
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        if connection.connection is raw:  # still the connection that failed (not closed by Django)
            if connection.is_usable():
                raise  # it works: the failure was not the connection's
            connection.close()
    return call()


def _together(cursor: Any, statements: Iterable[Statement], *, commit: bool = False) -> bool:
    """Executes the statements as one query string, with the transaction's BEGIN and (with
    `commit`) its COMMIT where they may ride along (see the module's docstring); False, having
    executed nothing, when the cursor cannot take several statements."""
    statements = list(statements)
    if not _takes_several(cursor):
        return False
    raw = connection.connection
    begin = _opens_transaction(raw)
    commit = commit and _ends_transaction()
    if len(statements) == 1 and not begin and not commit:
        return False
    sql, params = _one_string(statements)
    if begin:
        # psycopg would send BEGIN alone before this: it is in the string instead, and psycopg
        # (told not to begin) leaves the server's transaction to the block's commit or rollback.
        raw.autocommit = True
        sql = f"BEGIN; {sql}"
    try:
        cursor.execute(f"{sql}; COMMIT" if commit else sql, params)
    except BaseException:
        if begin and raw.info.transaction_status == _idle():
            raw.autocommit = False  # the string failed before its BEGIN ran: psycopg begins as usual
        raise
    if begin:
        cursor.nextset()  # past BEGIN's result, to the first statement's
    return True


def _opens_transaction(raw: Any) -> bool:
    """Whether the next statement is the first of an atomic block's transaction (psycopg is
    about to send BEGIN on its own)."""
    return connection.in_atomic_block and not raw.autocommit and raw.info.transaction_status == _idle()


def _ends_transaction() -> bool:
    """Whether a COMMIT now ends the transaction as the outermost block's end would: that block
    is the only one open, and nothing in it asked for a rollback."""
    return len(connection.atomic_blocks) == 1 and not connection.savepoint_ids and not connection.needs_rollback


def _idle() -> Any:
    from psycopg.pq import TransactionStatus

    return TransactionStatus.IDLE


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


def save_new(*groups: list[Any], commit: bool = False) -> None:
    """bulk_create for the hot paths: each group (new instances of one model) written in order.
    On PostgreSQL, single rows go as one statement (kraiter.rows.insert_many_sql; `commit` as for
    `Statements.run`: the outermost block's last statement), and when any group has more, each
    group is one COPY (kraiter.rows.copy_rows), all in one transaction; bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        for group in groups:
            if group:
                type(group[0]).objects.bulk_create(group)
        return
    if any(len(group) > 1 for group in groups):
        with transaction.atomic(savepoint=False):  # the caller's transaction, or one of its own
            for group in groups:
                if group:
                    copy_rows(group, connection)
        return
    statement = insert_many_sql(list(groups), connection)
    if statement is not None:
        writes = Statements()
        writes.add(*statement)
        writes.run(commit=commit)


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

"""The engagement rollups, kept exact: counted live by the pipeline, rebuilt by backfill_metrics.

Live (`rollup_record`, called by sends.engagement.pipeline in the transaction that records the
fact): one fact is one multi-row upsert, `INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`,
a lost update is impossible (the database adds), and so is a double count (the pipeline counts
each send's first timestamp of a kind once, and moves it when an earlier one arrives late). Rows are written in
key order so concurrent transactions cannot deadlock on them. On PostgreSQL, recording takes a
shared advisory lock per organisation that a backfill takes exclusively, so a rebuild and live
events never count one event twice.

Backfill (`rollups_backfill`): the range is rebuilt one day at a time; each day is one short
transaction that takes the organisation's lock exclusively (live facts wait a moment), deletes
the day's rollups and recounts them in SQL from the sends' timestamps (and, for unsubscribes,
the `email.unsubscribed` events), INSERT ... SELECT ... GROUP BY: no row passes through Python.
Running it twice gives the same rows; stopping it half-way leaves whole days rebuilt.
"""

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateTimeField, F, Func, OuterRef, QuerySet, Subquery, Value

from contacts.models import Event
from kraiter.models import Organisation
from kraiter.statements import Statements
from sends.models import COUNTED_KINDS, COUNTERS, EngagementKind, MetricRollup, Send

BUCKET = timedelta(minutes=15)


def bucket_of(moment: datetime) -> datetime:
    """The start of the quarter hour holding `moment`, in UTC."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def scopes_of(send: Send) -> list[tuple[str, str]]:
    """The rollups a send counts in: all of its organisation's, its template's, its sequence's."""
    scopes = [(MetricRollup.Scope.ALL.value, ""), (MetricRollup.Scope.TEMPLATE.value, send.template_slug)]
    if send.source == Send.Source.SEQUENCE and send.source_id:
        scopes.append((MetricRollup.Scope.SEQUENCE.value, send.source_id))
    return scopes


def rollup_record(
    *,
    send: Send,
    kind: EngagementKind,
    at: datetime,
    previous_at: datetime | None,
    statements: Statements,
) -> None:
    """Counts `kind` for `send` in the quarter hour of `at` (and takes it out of `previous_at`'s):
    the lock and the upsert are queued on `statements`, which the caller runs in its transaction."""
    scopes = scopes_of(send)
    changes = [(scope, scope_id, bucket_of(at), 1) for scope, scope_id in scopes]
    if previous_at is not None:
        changes += [(scope, scope_id, bucket_of(previous_at), -1) for scope, scope_id in scopes]
    lock = organisation_lock_statement(send.organisation_id, exclusive=False)
    if lock is not None:
        statements.add(*lock, once=f"rollup-lock:{send.organisation_id}")
    upsert = rollup_add_statement(organisation_id=send.organisation_id, counter=kind, changes=changes)
    if upsert is not None:
        statements.add(*upsert)


def rollup_add_statement(
    *, organisation_id: str, counter: str, changes: Iterable[tuple[str, str, datetime, int]]
) -> tuple[str, list[Any]] | None:
    """The upsert that adds each (scope, scope id, bucket, amount) to `counter`, creating rows as
    needed (None when the changes cancel out)."""
    if counter not in COUNTERS:
        raise ValueError(f"{counter!r} is not counted in the rollups")
    net: Counter[tuple[str, str, datetime]] = Counter()
    for scope, scope_id, bucket, amount in changes:
        net[(scope, scope_id, bucket)] += amount  # one row per key: an upsert may touch a row once
    rows = sorted((*key, amount) for key, amount in net.items() if amount)
    if not rows:
        return None
    table = MetricRollup._meta.db_table
    organisation = _db_value("organisation", organisation_id)
    row_sql = "(" + ", ".join(["%s"] * (4 + len(COUNTERS))) + ")"
    params: list[Any] = []
    for scope, scope_id, bucket, amount in rows:
        counts = [amount if name == counter else 0 for name in COUNTERS]
        params += [organisation, scope, scope_id, _db_value("bucket", bucket), *counts]
    # Only constants and the validated counter name are formatted in; every value is a parameter.
    sql = (
        f'INSERT INTO "{table}" (organisation_id, scope, scope_id, bucket, {", ".join(COUNTERS)}) '
        f"VALUES {', '.join([row_sql] * len(rows))} "
        f"ON CONFLICT (organisation_id, scope, scope_id, bucket) "
        f'DO UPDATE SET {counter} = "{table}".{counter} + excluded.{counter}'
    )
    return sql, params


def organisation_lock(organisation_id: str, *, exclusive: bool) -> None:
    """A transaction-scoped advisory lock per organisation (PostgreSQL; SQLite serialises writes)."""
    statement = organisation_lock_statement(organisation_id, exclusive=exclusive)
    if statement is not None:
        with connection.cursor() as cursor:
            cursor.execute(*statement)


def organisation_lock_statement(organisation_id: str, *, exclusive: bool) -> tuple[str, list[Any]] | None:
    if connection.vendor != "postgresql":
        return None
    key = int.from_bytes(hashlib.sha256(f"metrics:{organisation_id}".encode()).digest()[:8], "big", signed=True)
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    return f"SELECT {function}(%s)", [key]


def _db_value(field_name: str, value: Any) -> Any:
    field: Any = MetricRollup._meta.get_field(field_name)
    return field.get_db_prep_value(value, connection, prepared=False)


def rollup_add_grouped(*, organisation_id: str, scope: str, counter: str, grouped: Any) -> None:
    """Adds the rows of a grouped query (quarter, scope id, count) to `counter` in one statement,
    INSERT ... SELECT: the database does the adding (used by backfills)."""
    if counter not in COUNTERS:
        raise ValueError(counter)
    table = MetricRollup._meta.db_table
    select_sql, select_params = grouped.query.sql_with_params()
    counts = ", ".join("grouped.n" if name == counter else "0" for name in COUNTERS)
    # "WHERE true" lets SQLite tell the SELECT's end from the upsert clause.
    sql = (
        f'INSERT INTO "{table}" (organisation_id, scope, scope_id, bucket, {", ".join(COUNTERS)}) '
        f"SELECT %s, %s, grouped.key, grouped.quarter, {counts} FROM ({select_sql}) AS grouped WHERE true "
        f"ON CONFLICT (organisation_id, scope, scope_id, bucket) "
        f'DO UPDATE SET {counter} = "{table}".{counter} + excluded.{counter}'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_value("organisation", organisation_id), scope, *select_params])


CHUNK = timedelta(days=1)


class QuarterHour(Func):
    """The start of the quarter hour holding a timestamp, computed by the database."""

    output_field = DateTimeField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="date_bin('15 minutes', %(expressions)s, TIMESTAMPTZ '2000-01-01')"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # The strftime formats travel as parameters: a literal "%Y" in the SQL breaks the
        # `sql % params` of Django's debug SQL log ("unsupported format character 'Y'").
        moment, params = compiler.compile(self.source_expressions[0])
        sql = f"strftime(%s, {moment}) || printf(%s, (CAST(strftime(%s, {moment}) AS INTEGER) / 15) * 15) || ':00'"
        return sql, ["%Y-%m-%d %H:", *params, "%02d", "%M", *params]


def days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    cursor = bucket_of(start)
    while cursor < end:
        following = min(cursor + CHUNK, end)
        yield cursor, following
        cursor = following


# Each scope's id, and which sends it counts (by the send's own columns).
SCOPE_KEYS: dict[str, tuple[Any, dict[str, Any]]] = {
    MetricRollup.Scope.ALL: (Value(""), {}),
    MetricRollup.Scope.TEMPLATE: (F("template_slug"), {}),
    MetricRollup.Scope.SEQUENCE: (F("source_id"), {"source": Send.Source.SEQUENCE, "source_id__isnull": False}),
}


def _counted_facts(organisation: Organisation, kind: EngagementKind, start: datetime, end: datetime) -> QuerySet[Any]:
    """The facts of `kind` in [start, end), each with its moment in `at`: the sends whose first
    timestamp of the kind falls there, or (unsubscribes, which are not a send's timestamp) the
    `email.unsubscribed` events, with their send's columns for the scopes."""
    if kind != EngagementKind.UNSUBSCRIBED:
        field = f"{kind.value}_at"
        return Send.objects.filter(organisation=organisation, **{f"{field}__gte": start, f"{field}__lt": end}).alias(
            at=F(field)
        )
    events = Event.objects.filter(
        organisation=organisation, name=kind.event_name, send_id__isnull=False, timestamp__gte=start, timestamp__lt=end
    )
    return Send.objects.filter(organisation=organisation, pk__in=events.values("send_id")).alias(
        at=Subquery(events.filter(send_id=OuterRef("pk")).order_by("timestamp").values("timestamp")[:1])
    )


def backfill_day(*, organisation: Organisation, start: datetime, end: datetime, dry_run: bool = False) -> int:
    """Rebuilds [start, end) for one organisation; returns how many facts it counted. The
    database groups and adds (INSERT ... SELECT ... GROUP BY): no row passes through Python."""
    counted = 0
    with transaction.atomic():
        organisation_lock(organisation.id, exclusive=True)
        if not dry_run:
            MetricRollup.objects.filter(organisation=organisation, bucket__gte=start, bucket__lt=end).delete()
        for kind in COUNTED_KINDS:
            facts = _counted_facts(organisation, kind, start, end)
            counted += facts.count()
            if dry_run:
                continue
            for scope, (scope_id, condition) in SCOPE_KEYS.items():
                grouped = (
                    facts.filter(**condition)
                    .annotate(quarter=QuarterHour("at"), key=scope_id)
                    .values("quarter", "key")
                    .annotate(n=Count("id"))
                    .values_list("quarter", "key", "n")
                )
                rollup_add_grouped(organisation_id=organisation.id, scope=scope, counter=kind, grouped=grouped)
    return counted


def rollups_backfill(
    *,
    start: datetime,
    end: datetime,
    organisations: list[Organisation],
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    chunks = list(days(start, end))
    total, done = 0, 0
    for organisation in organisations:
        for chunk_start, chunk_end in chunks:
            total += backfill_day(organisation=organisation, start=chunk_start, end=chunk_end, dry_run=dry_run)
            done += 1
            if progress:
                progress(done, len(chunks) * len(organisations))
    return total

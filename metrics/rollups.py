"""Keeping the rollups exact as events are recorded (sends tells us through send_event_recorded).

One event is one multi-row upsert, `INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`,
in the transaction that recorded the event: a lost update is impossible (the database adds),
and so is a double count (the event service announces each timestamp once). Rows are written in
key order so concurrent transactions cannot deadlock on them. On PostgreSQL, recording takes a
shared advisory lock per organisation that a backfill takes exclusively, so a rebuild and live
events never count one event twice.
"""

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from metrics.models import COUNTERS, MetricRollup

BUCKET = timedelta(minutes=15)


def bucket_of(moment: datetime) -> datetime:
    """The start of the quarter hour holding `moment`, in UTC."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def scopes_of(*, template_slug: str, source: str, source_id: str | None) -> list[tuple[str, str]]:
    scopes = [(MetricRollup.Scope.ALL.value, ""), (MetricRollup.Scope.TEMPLATE.value, template_slug)]
    if source == "sequence" and source_id:
        scopes.append((MetricRollup.Scope.SEQUENCE.value, source_id))
    return scopes


def rollup_record(*, send: Any, event: str, at: datetime, previous_at: datetime | None) -> None:
    """Counts `event` for `send` in the quarter hour of `at` (and takes it out of `previous_at`'s)."""
    if event not in COUNTERS:
        return
    scopes = scopes_of(template_slug=send.template_slug, source=send.source, source_id=send.source_id)
    changes = [(scope, scope_id, bucket_of(at), 1) for scope, scope_id in scopes]
    if previous_at is not None:
        changes += [(scope, scope_id, bucket_of(previous_at), -1) for scope, scope_id in scopes]
    organisation_lock(send.organisation_id, exclusive=False)
    rollup_add(organisation_id=send.organisation_id, counter=event, changes=changes)


def rollup_add(*, organisation_id: str, counter: str, changes: Iterable[tuple[str, str, datetime, int]]) -> None:
    """Adds each (scope, scope id, bucket, amount) to `counter`, creating rows as needed."""
    if counter not in COUNTERS:
        raise ValueError(counter)
    net: Counter[tuple[str, str, datetime]] = Counter()
    for scope, scope_id, bucket, amount in changes:
        net[(scope, scope_id, bucket)] += amount  # one row per key: an upsert may touch a row once
    rows = sorted((*key, amount) for key, amount in net.items() if amount)
    if not rows:
        return
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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def organisation_lock(organisation_id: str, *, exclusive: bool) -> None:
    """A transaction-scoped advisory lock per organisation (PostgreSQL; SQLite serialises writes)."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"metrics:{organisation_id}".encode()).digest()[:8], "big", signed=True)
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [key])


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

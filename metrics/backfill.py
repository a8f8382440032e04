"""Rebuilding rollups from the sends themselves (backfill_metrics).

The range is rebuilt one day at a time; each day is one short transaction that takes the
organisation's metrics lock exclusively (live events wait a moment), deletes the day's rollups
and recounts them from the sends' timestamps through their indexes, in SQL. Running it twice gives the
same rows; stopping it half-way leaves whole days rebuilt and the rest as they were.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, DateTimeField, F, Func, Value

from kraiter.models import Organisation
from metrics.models import COUNTERS, MetricRollup
from metrics.rollups import bucket_of, organisation_lock, rollup_add_grouped
from sends.models import Send

CHUNK = timedelta(days=1)


class QuarterHour(Func):
    """The start of the quarter hour holding a timestamp, computed by the database."""

    output_field = DateTimeField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="date_bin('15 minutes', %(expressions)s, TIMESTAMPTZ '2000-01-01')"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "strftime('%%Y-%%m-%%d %%H:', %(expressions)s) || "
            "printf('%%02d', (CAST(strftime('%%M', %(expressions)s) AS INTEGER) / 15) * 15) || ':00'"
        )
        return self.as_sql(compiler, connection, template=template)


def days(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    cursor = bucket_of(start)
    while cursor < end:
        following = min(cursor + CHUNK, end)
        yield cursor, following
        cursor = following


# Each scope's id, and which sends it counts.
SCOPE_KEYS: dict[str, tuple[Any, dict[str, Any]]] = {
    MetricRollup.Scope.ALL: (Value(""), {}),
    MetricRollup.Scope.TEMPLATE: (F("template_slug"), {}),
    MetricRollup.Scope.SEQUENCE: (F("source_id"), {"source": "sequence", "source_id__isnull": False}),
}


def backfill_day(*, organisation: Organisation, start: datetime, end: datetime, dry_run: bool = False) -> int:
    """Rebuilds [start, end) for one organisation; returns how many events it counted. The
    database groups and adds (INSERT ... SELECT ... GROUP BY): no row passes through Python."""
    counted = 0
    with transaction.atomic():
        organisation_lock(organisation.id, exclusive=True)
        if not dry_run:
            MetricRollup.objects.filter(organisation=organisation, bucket__gte=start, bucket__lt=end).delete()
        for counter in COUNTERS:
            field = f"{counter}_at"
            in_range = Send.objects.filter(organisation=organisation, **{f"{field}__gte": start, f"{field}__lt": end})
            counted += in_range.count()
            if dry_run:
                continue
            for scope, (scope_id, condition) in SCOPE_KEYS.items():
                grouped = (
                    in_range.filter(**condition)
                    .annotate(quarter=QuarterHour(field), key=scope_id)
                    .values("quarter", "key")
                    .annotate(n=Count("id"))
                    .values_list("quarter", "key", "n")
                )
                rollup_add_grouped(organisation_id=organisation.id, scope=scope, counter=counter, grouped=grouped)
    return counted


def backfill(
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

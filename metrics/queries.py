"""The queries behind /api/metrics: any period, any range, any time zone, from the rollups.

A request's points are the periods (hours, days, weeks from Monday, months from the 1st) in its
time zone, from the one holding `from` to the one holding `to`; each is a range of UTC instants,
so DST changes and half-hour offsets need nothing special. PostgreSQL sums the quarter-hour rows
into those points itself (`width_bucket` over the points' starts), reading one index range.
"""

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.utils import timezone

from kraiter.api.fields import format_timestamp, parse_timestamp
from kraiter.errors import InvalidInput
from sends.models import COUNTERS, MetricRollup


class Counts(TypedDict):
    """One count per kind in sends.models.COUNTERS (a test checks they are the same names)."""

    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    unsubscribed: int


class Point(Counts):
    timestamp: str  # the period's start, ISO 8601 UTC


# The body of /api/metrics (seed 003). ("from" is a keyword: the functional form.)
Report = TypedDict("Report", {"period": str, "from": str, "to": str, "totals": Counts, "timeseries": list[Point]})


def zero_counts() -> Counts:
    return cast(Counts, dict.fromkeys(COUNTERS, 0))


PERIODS = ("hour", "day", "week", "month")
# The guides' spellings, accepted as the same periods (the response says the canonical one).
PERIOD_ALIASES = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}
MAX_POINTS = 10_000
DEFAULT_POINTS = 30


@dataclass(frozen=True)
class MetricsRange:
    period: str
    start: datetime  # as asked (UTC), or the first point's start when not given
    end: datetime
    zone: ZoneInfo
    points: list[datetime]  # each point's start (UTC), in order
    after_last: datetime  # where the last point ends


def metrics_range(params: Mapping[str, str], *, now: datetime | None = None) -> MetricsRange:
    """Validates `period`, `from`, `to` and `tz`; InvalidInput says what is wrong."""
    period = params.get("period") or "day"
    period = PERIOD_ALIASES.get(period, period)
    if period not in PERIODS:
        choices = ", ".join([*PERIODS, *PERIOD_ALIASES])
        raise InvalidInput(f"'period' must be one of: {choices}.", details={"period": [period]})
    zone_name = params.get("tz") or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'tz' must be an IANA time zone such as Europe/Berlin, not '{zone_name}'.") from None
    end = _instant(params, "to") or (now or timezone.now())
    start = _instant(params, "from")
    if start is None:
        start = _step(_floor(end, period, zone), period, zone, -(DEFAULT_POINTS - 1))
    if start > end:
        raise InvalidInput("'from' must not be after 'to'.")
    points = [_floor(start, period, zone)]
    while True:
        following = _step(points[-1], period, zone, 1)
        if following > end:
            break
        points.append(following)
        if len(points) > MAX_POINTS:
            coarser = ", ".join(PERIODS[PERIODS.index(period) + 1 :]) or "a shorter range"
            raise InvalidInput(f"More than {MAX_POINTS} points at period={period}; use a coarser period ({coarser}).")
    return MetricsRange(period, start, end, zone, points, _step(points[-1], period, zone, 1))


def metrics_report(*, organisation: Any, scope: str, scope_id: str, span: MetricsRange) -> Report:
    """`{period, from, to, totals, timeseries}` as the seed shows; totals are the points' sum."""
    sums = _sums_by_point(organisation=organisation, scope=scope, scope_id=scope_id, span=span)
    series: list[Point] = []
    totals = zero_counts()
    for index, start in enumerate(span.points, start=1):
        counts = sums.get(index) or zero_counts()
        series.append(cast(Point, {"timestamp": format_timestamp(start), **counts}))
        for name in COUNTERS:
            totals[name] += counts[name]  # type: ignore[literal-required]
    return {
        "period": span.period,
        "from": format_timestamp(span.start) or "",
        "to": format_timestamp(span.end) or "",
        "totals": totals,
        "timeseries": series,
    }


def _sums_by_point(*, organisation: Any, scope: str, scope_id: str, span: MetricsRange) -> dict[int, Counts]:
    rows = MetricRollup.objects.filter(
        organisation=organisation,
        scope=scope,
        scope_id=scope_id,
        bucket__gte=span.points[0],
        bucket__lt=span.after_last,
    )
    if connection.vendor == "postgresql":
        sql, params = rows.values("bucket").query.sql_with_params()
        columns = ", ".join(f"SUM({name})::bigint" for name in COUNTERS)
        where = sql[sql.index(" WHERE ") :]
        table = MetricRollup._meta.db_table
        query = (
            f'SELECT width_bucket("{table}"."bucket", %s::timestamptz[]) AS point, {columns} '
            f'FROM "{table}"{where} GROUP BY point'
        )
        with connection.cursor() as cursor:
            cursor.execute(query, [span.points, *params])
            return {point: cast(Counts, dict(zip(COUNTERS, sums, strict=True))) for point, *sums in cursor.fetchall()}
    sums: dict[int, Counts] = {}
    for bucket, *counts in rows.values_list("bucket", *COUNTERS):
        point = bisect.bisect_right(span.points, bucket)
        into = sums.setdefault(point, zero_counts())
        for name, value in zip(COUNTERS, counts, strict=True):
            into[name] += value  # type: ignore[literal-required]
    return sums


def _instant(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        raise InvalidInput(f"'{name}': {exc}", details={name: [str(exc)]}) from None


def _floor(moment: datetime, period: str, zone: ZoneInfo) -> datetime:
    """The start (UTC) of the period holding `moment`, in `zone`."""
    local = moment.astimezone(zone)
    if period == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    return _midnight(day, zone)


def _step(start: datetime, period: str, zone: ZoneInfo, count: int) -> datetime:
    """The start `count` periods after (or before) the period starting at `start`."""
    if period == "hour":
        return start + timedelta(hours=count)
    day = start.astimezone(zone).date()
    if period == "day":
        return _midnight(day + timedelta(days=count), zone)
    if period == "week":
        return _midnight(day + timedelta(weeks=count), zone)
    months = day.year * 12 + day.month - 1 + count
    return _midnight(date(months // 12, months % 12 + 1, 1), zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

"""Keyset cursor pagination, as docs/api.md 2 describes it.

A cursor is base64 of a small JSON object naming the last item returned, e.g.
`{"id": "snd_01H9...", "f": "3fa2c1d0"}`; `f` fingerprints the filters the cursor was made
with, so a cursor cannot be replayed against other filters. The next page is the rows strictly
after that position in the list's order: `WHERE (keys) < (cursor) ORDER BY keys LIMIT n + 1`,
which an index answers at the same cost at any depth. There is no OFFSET and no COUNT.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.db.models import F, Model, Q, QuerySet

from kraiter.api.fields import parse_timestamp
from kraiter.api.ids import AnyOf, is_valid_id
from kraiter.errors import InvalidInput
from kraiter.untrusted import UntrustedInput, loads

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

M = TypeVar("M", bound=Model)
T = TypeVar("T")


@dataclass(frozen=True)
class CursorKey:
    """One column of a list's order: its name in the cursor, its model field, its direction."""

    name: str
    field: str
    descending: bool
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _decode_id(prefix: str) -> Callable[[Any], str]:
    def decode(value: Any) -> str:
        if not is_valid_id(value, prefix):
            raise ValueError("bad id")
        return str(value)

    return decode


def _encode_timestamp(value: datetime) -> str:
    # Full microseconds: a position rounded to milliseconds would repeat or skip rows.
    return value.astimezone(UTC).isoformat()


def _decode_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("bad timestamp")
    return parse_timestamp(value)


def id_key(prefix: str, *, descending: bool = True, field: str = "id") -> CursorKey:
    return CursorKey("id", field, descending, str, _decode_id(prefix))


def timestamp_key(name: str, field: str, *, descending: bool) -> CursorKey:
    return CursorKey(name, field, descending, _encode_timestamp, _decode_timestamp)


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInput(f"'limit' must be an integer from 1 to {MAX_LIMIT}.", details={"limit": ["1 to 100."]})
    return int(raw)


def _fingerprint(filters: Mapping[str, Any]) -> str:
    canonical = json.dumps({k: v for k, v in sorted(filters.items()) if v not in (None, "")}, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def encode_cursor(position: Mapping[str, Any], filters: Mapping[str, Any]) -> str:
    payload = {**position, "f": _fingerprint(filters)}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(raw: str, keys: Sequence[CursorKey], filters: Mapping[str, Any]) -> list[Any]:
    """The cursor's position as one value per key, or a 400 that says what is wrong."""
    invalid = InvalidInput("The 'cursor' is not valid; use the nextCursor of a previous page.")
    text = raw.strip().replace(" ", "+")
    try:
        padded = text + "=" * (-len(text) % 4)
        payload = loads(base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError, UntrustedInput):
        raise invalid from None
    if not isinstance(payload, dict):
        raise invalid
    if payload.get("f") != _fingerprint(filters):
        raise InvalidInput("The 'cursor' was made for different filters; repeat the filters it was made with.")
    try:
        return [key.decode(payload[key.name]) for key in keys]
    except (KeyError, ValueError, TypeError):
        raise invalid from None


def _after(keys: Sequence[CursorKey], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in the order given by `keys` (a lexicographic comparison)."""
    condition = Q()
    for index in reversed(range(len(keys))):
        key, value = keys[index], values[index]
        beyond = Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})
        condition = beyond if index == len(keys) - 1 else beyond | (Q(**{key.field: value}) & condition)
    return condition


def order_by(keys: Sequence[CursorKey]) -> list[str]:
    return [f"-{key.field}" if key.descending else key.field for key in keys]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def of_organisation(queryset: QuerySet[M], organisation: Any, *, as_range: bool = False) -> QuerySet[M]:
    """One organisation's rows, for a list, written so that PostgreSQL reads the list's own
    (organisation, <filter>, ...) index whatever the filters and the depth:
    `organisation_id = ANY(ARRAY[X])`. The same rows as `organisation_id = X`, but

    - with `=`, PostgreSQL drops the organisation from the ORDER BY (a constant) and may walk
      the primary key backwards instead, past every other organisation's newer rows: seconds
      for an organisation whose rows are older than the others' (BENCHMARKS.md, issue 3);
    - as a range (X <= org <= X) it keeps the order, but its cost model then counts no column
      after the organisation as bounding the index scan, so when few rows match (a filter
      narrow enough, or a page near the oldest end) it priced the list's index at the whole
      organisation and sorted the primary key's range instead: 16 ms to 1.4 s on 1-30 M sends.

    `= ANY` of one value is an equality to the cost model (every later column of the index
    bounds the scan) but not to the ordering (the index's order stays the list's order).
    `as_range` keeps the range, for a list with an index where the organisation is not the
    first column (events by name, `event_name_org_idx`): `= ANY` on a later column of an index
    makes PostgreSQL give up that index's order."""
    if as_range:
        return queryset.filter(organisation_id__gte=organisation.pk, organisation_id__lte=organisation.pk)
    return queryset.filter(AnyOf(F("organisation_id"), [organisation.pk]))


def paginate(
    queryset: QuerySet[M],
    *,
    keys: Sequence[CursorKey],
    cursor: str | None,
    limit: int,
    filters: Mapping[str, Any],
    within: str | None = "organisation_id",
) -> Page[M]:
    """One page of `queryset` in the order of `keys`, after `cursor`.

    `within` names the column the list is scoped to (one value, so ordering by it changes
    nothing). It leads the ORDER BY all the same: that makes the order exactly the one of the
    list's index, so PostgreSQL walks that index instead of guessing it can find the first rows
    soonest by walking the primary key and skipping other organisations' rows."""
    if cursor:
        queryset = queryset.filter(_after(keys, decode_cursor(cursor, keys, filters)))
    leading = [within] if within else []
    rows = list(queryset.order_by(*leading, *order_by(keys))[: limit + 1])
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    position = {key.name: key.encode(_attribute(last, key.field)) for key in keys}
    return Page(rows[:limit], encode_cursor(position, filters))


def _attribute(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


def keyset_batches(queryset: QuerySet[M], *, keys: Sequence[CursorKey], size: int) -> Iterator[list[M]]:
    """The whole queryset in `keys` order, `size` rows at a time, each batch one indexed query
    (management commands walk millions of rows this way with flat memory)."""
    position: list[Any] | None = None
    while True:
        page = queryset if position is None else queryset.filter(_after(keys, position))
        rows = list(page.order_by(*order_by(keys))[:size])
        if not rows:
            return
        yield rows
        position = [_attribute(rows[-1], key.field) for key in keys]

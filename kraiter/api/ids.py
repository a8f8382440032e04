"""Prefixed ULIDs: `snd_01HZX...`, the ids every API object carries.

A ULID is 128 bits whose first 48 are the creation time in milliseconds, so ids sort by
creation time and keyset pagination "newest first" is `ORDER BY id DESC`. The database keeps
the 16 bytes as a UUID (PostgreSQL `uuid`, sorted bytewise, which is ULID order); Python code
only ever sees the prefixed string.
"""

import functools
import re
import uuid
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from ulid import ULID

# Crockford base32, upper case, 26 characters; the first character carries only 3 bits.
ULID_BODY = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
ID_PREFIXES = {
    "org": "organisation",
    "key": "API key",
    "cnt": "contact",
    "snd": "send",
    "sch": "scheduled send",
    "evt": "event",
    "enr": "enrolment",
    "dom": "domain",
}


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A fresh id; `at` sets its time part (used by imports that keep the original order)."""
    value = ULID.from_datetime(at) if at is not None else ULID()
    return f"{prefix}_{value}"


def id_floor(prefix: str, at: datetime) -> str:
    """The smallest id of its kind made at `at`: every id made earlier sorts below it."""
    milliseconds = int(at.timestamp() * 1000)
    return f"{prefix}_{ULID.from_bytes(milliseconds.to_bytes(6, 'big') + bytes(10))}"


_PATTERNS: dict[str, re.Pattern[str]] = {}
# Crockford's base32 digits, as the digits int(..., 32) reads (0-9, A-V): a ULID's body is its
# 128-bit value in that base, so the conversion runs in C (python-ulid's decoder: ~3x slower).
_CROCKFORD_TO_BASE32 = str.maketrans("0123456789ABCDEFGHJKMNPQRSTVWXYZ", "0123456789ABCDEFGHIJKLMNOPQRSTUV")


def _pattern(prefix: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(prefix)
    if pattern is None:
        pattern = _PATTERNS[prefix] = re.compile(rf"{prefix}_{ULID_BODY}")
    return pattern


def is_valid_id(value: object, prefix: str) -> bool:
    return isinstance(value, str) and _pattern(prefix).fullmatch(value) is not None


def require_id(value: str, prefix: str) -> str:
    """`value` if it has the shape of a `prefix` id; a 400 that says what is expected otherwise."""
    from kraiter.errors import InvalidInput

    if not is_valid_id(value, prefix):
        what = ID_PREFIXES.get(prefix, prefix)
        raise InvalidInput(f"'{value}' is not a valid {what} id (expected {prefix}_ followed by 26 characters).")
    return value


def get_by_id(queryset: Any, object_id: str, prefix: str) -> Any:
    """The row of `queryset` (already one organisation's) with this id: a 400 for a malformed id,
    `404 No <what> <id>.` when there is none."""
    from kraiter.errors import NotFound

    require_id(object_id, prefix)
    found = queryset.filter(pk=object_id).first()
    if found is None:
        raise NotFound(f"No {ID_PREFIXES.get(prefix, prefix)} {object_id}.")
    return found


# Remembered: the hot paths convert the same ids again and again (a dispatcher batch names its
# organisation, sequence and template on every row; a send's contact and enrolment twice).
@functools.lru_cache(maxsize=16384)
def id_to_uuid(value: str, prefix: str) -> uuid.UUID:
    if not is_valid_id(value, prefix):
        raise ValueError(f"'{value}' is not a valid {ID_PREFIXES.get(prefix, prefix)} id ({prefix}_ + 26 characters).")
    return uuid.UUID(int=int(value[len(prefix) + 1 :].translate(_CROCKFORD_TO_BASE32), 32))


# Crockford's base32 (the ULID alphabet), two characters at a time: 10 bits each.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [first + second for first in _CROCKFORD for second in _CROCKFORD]
_SHIFTS = tuple(range(120, -1, -10))


@functools.lru_cache(maxsize=16384)  # as id_to_uuid: a batch's rows name the same organisation
def uuid_to_id(value: uuid.UUID, prefix: str) -> str:
    """The prefixed ULID of a stored UUID: its 128 bits (with two zero bits on top, 130) as 26
    characters, 10 bits at a time. What str(ULID.from_uuid(value)) gives, about three times
    faster: every id of every list passes here."""
    number = value.int
    return prefix + "_" + "".join([_PAIRS[(number >> shift) & 1023] for shift in _SHIFTS])


class PrefixedIdField(models.UUIDField):
    """A UUID column that Python code reads and writes as `<prefix>_<ULID>`."""

    # What django-stubs' mypy plugin types the attribute as: the prefixed string, not a UUID.
    _pyi_private_set_type: str
    _pyi_private_get_type: str  # type: ignore[assignment]

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, uuid.UUID):
            return value
        try:
            return id_to_uuid(str(value), self.prefix)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        return super().get_db_prep_value(value, connection, prepared=True)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, uuid.UUID):
            value = uuid.UUID(str(value))
        return uuid_to_id(value, self.prefix)

    def to_python(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, uuid.UUID):
            return uuid_to_id(value, self.prefix)
        if is_valid_id(value, self.prefix):
            return value
        raise ValidationError(f"'{value}' is not a valid {self.prefix} id.", code="invalid")

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return forms.CharField(max_length=40, **kwargs)


def prefixed_id_primary_key(prefix: str) -> PrefixedIdField:
    """The primary key of an API object: generated in Python, so the id exists before the INSERT."""
    return PrefixedIdField(prefix=prefix, primary_key=True, editable=False, default=_IdFactory(prefix))


class _IdFactory:
    """A picklable, migration-serialisable default that makes new ids of one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def deconstruct(self) -> tuple[str, tuple[str], dict[str, Any]]:
        return ("kraiter.api.ids._IdFactory", (self.prefix,), {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _IdFactory) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)


@PrefixedIdField.register_lookup
class AnyOf(models.Lookup):
    """`pk__any=ids` (or `AnyOf(F(column), values)` as an expression: kraiter.api.pagination's
    `of_organisation`): `column = ANY(%s)` with the values as one array parameter, where `pk__in`
    writes a placeholder per id that psycopg parses, and Django prepares, one by one (a tenth of
    a dispatcher batch of 1,000 rows); `IN` elsewhere than PostgreSQL."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(item, connection, prepared=False) for item in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        if not values:
            return "1 = 0", tuple(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)

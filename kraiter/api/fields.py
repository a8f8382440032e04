"""Serializer fields shared by every endpoint: timestamps, strict JSON types, slugs and ids."""

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kraiter.api.ids import is_valid_id
from kraiter.emails import normalise_email
from kraiter.errors import InvalidInput

SLUG_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.I)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def require_slug(value: str, what: str) -> str:
    """`value` if it is a valid client slug (a template's or a sequence's id); a 400 otherwise."""
    if not SLUG_PATTERN.fullmatch(value):
        raise InvalidInput(f"'{value[:80]}' is not a valid {what} id (1-64 characters of a-z 0-9 - _).")
    return value


def format_timestamp(value: datetime | None) -> str | None:
    """`2025-09-15T14:30:00.000Z`: UTC, milliseconds, Z."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


def parse_timestamp(value: str) -> datetime:
    """Any ISO 8601 instant with an offset or Z, or a bare date (midnight UTC). ValueError otherwise."""
    text = value.strip()
    if _ISO_DATE.fullmatch(text):
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    if not _ISO_DATETIME.fullmatch(text):
        raise ValueError(f"'{value}' is not an ISO 8601 timestamp with a time zone (e.g. 2025-09-15T14:30:00.000Z).")
    return datetime.fromisoformat(text.replace("z", "Z")).astimezone(UTC)


@extend_schema_field({"type": "string", "format": "date-time", "example": "2025-09-15T14:30:00.000Z"})
class TimestampField(serializers.Field):
    def to_representation(self, value: datetime) -> str | None:
        return format_timestamp(value)

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be an ISO 8601 timestamp string.")
        try:
            return parse_timestamp(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class StrictCharField(serializers.CharField):
    """A JSON string, not a number turned into one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true/false, not "yes" or 1."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class SlugField(StrictCharField):
    """Template and sequence ids: the client's own slug."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not SLUG_PATTERN.fullmatch(value):
            raise serializers.ValidationError("Must be 1-64 characters of a-z, 0-9, '-' and '_'.")
        return value


class PrefixedIdField(StrictCharField):
    def __init__(self, *, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not is_valid_id(value, self.prefix):
            raise serializers.ValidationError(f"Must be an id of the form {self.prefix}_ + 26 characters.")
        return value


class JsonObjectField(serializers.Field):  # its schema: kraiter/api/schema_extensions.py
    """A JSON object of bounded size (contact properties, send variables, event properties)."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_large": "Must be at most {max_bytes} bytes once encoded.",
    }

    def __init__(self, *, max_bytes: int = 64 * 1024, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(json.dumps(data, ensure_ascii=False).encode()) > self.max_bytes:
            self.fail("too_large", max_bytes=self.max_bytes)
        return data

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value


class NullableTimestampField(TimestampField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


class EmailAddressField(StrictCharField):
    """One email address; stored trimmed with a lower-case domain."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalise_email(value)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None

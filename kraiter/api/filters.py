"""Query-string filters that refuse what they do not understand (instead of ignoring it)."""

from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from kraiter.api.fields import parse_timestamp
from kraiter.api.ids import ULID_BODY


class EnumFilter(django_filters.ChoiceFilter):
    """One of a fixed set of lowercase values; anything else is a 400 that lists them."""

    def __init__(self, *args: Any, choices: list[str], **kwargs: Any) -> None:
        kwargs["choices"] = [(value, value) for value in choices]
        kwargs.setdefault("error_messages", {"invalid_choice": f"Must be one of: {', '.join(choices)}."})
        super().__init__(*args, **kwargs)


class StrictBooleanFilter(EnumFilter):
    """`true` or `false`; anything else is a 400."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, choices=["true", "false"], **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in ("", None):
            return qs
        return super().filter(qs, value == "true")


class PrefixedIdFilter(django_filters.CharFilter):
    """An id filter that checks the id's shape (a 400), not only whether it exists."""

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        message = f"Must be an id of the form {prefix}_ followed by 26 characters."
        kwargs.setdefault("validators", [RegexValidator(rf"^{prefix}_{ULID_BODY}\Z", message)])
        super().__init__(*args, **kwargs)


class SlugFilter(django_filters.CharFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        message = "Must be 1-64 characters of a-z, 0-9, '-' and '_'."
        kwargs.setdefault("validators", [RegexValidator(r"^[a-z0-9_-]{1,64}\Z", message)])
        super().__init__(*args, **kwargs)


class TimestampFilter(django_filters.CharFilter):
    """An ISO 8601 instant (or a bare date, midnight UTC) compared with `lookup_expr`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [_check_timestamp])
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in ("", None):
            return qs
        return super().filter(qs, parse_timestamp(value))


def _check_timestamp(value: str) -> None:
    try:
        parse_timestamp(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None

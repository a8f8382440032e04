"""Durations written the way people write them: 30m, 2h, 3d, 1w, 1d12h."""

import re
from datetime import datetime, timedelta

MAX_SECONDS = 366 * 24 * 3600
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?:\d{1,6}[mhdw])+")


def cutoff_before_now(age: str) -> datetime:
    """The moment `age` (e.g. 90d) before now, for commands' --older-than; ValueError if bad."""
    from django.utils import timezone

    return timezone.now() - timedelta(seconds=parse_duration(age))


def parse_duration(text: object, *, allow_zero: bool = False) -> int:
    """Seconds; ValueError for anything that is not a positive duration of at most 366 days
    (or zero, with allow_zero: the SDK writes an email step's `delay: '0d'` for "at once")."""
    if not isinstance(text, str) or not _DURATION.fullmatch(text.strip()):
        raise ValueError(f"'{text}' is not a duration (an integer and m, h, d or w; several may be combined: 1d12h)")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in re.findall(r"(\d+)([mhdw])", text))
    if seconds <= 0 and not allow_zero:
        raise ValueError("a delay must be longer than zero")
    if seconds > MAX_SECONDS:
        raise ValueError("a delay may be at most 366 days")
    return seconds

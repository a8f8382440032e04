"""The record of attempts whose outcome is unknown (Send.uncertain_attempts): one entry per such
attempt, only ever appended to or resolved. Written by delivery and by the engagement pipeline
(an SES event settles them)."""

from datetime import datetime
from typing import Any, TypedDict

from kraiter.api.fields import format_timestamp


class UncertainAttempt(TypedDict):
    attempt: int
    at: str  # ISO 8601, UTC
    error: str  # what was lost: SES's answer, or the worker
    resolution: str  # "" while open; else what settled it


def uncertain_entry(attempt: int, at: datetime, error: str, resolution: str = "") -> UncertainAttempt:
    return {"attempt": attempt, "at": format_timestamp(at) or "", "error": error[:500], "resolution": resolution}


def uncertain_attempts_resolved(entries: list[Any], resolution: str) -> list[Any]:
    """The list with every still-open entry resolved as `resolution` (earlier resolutions stay)."""
    return [entry if entry.get("resolution") else {**entry, "resolution": resolution} for entry in entries]

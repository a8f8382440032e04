"""Evaluating a sequence's condition step for one contact, when the dispatcher reaches it."""

from collections.abc import Collection, Mapping
from typing import Any

_MISSING = object()


def condition_holds(step: Mapping[str, Any], *, contact: Any, event_names: Collection[str]) -> bool:
    """Whether the condition is true. `event_names`: the events the contact sent since enrolling."""
    prop: str = step["property"]
    operator: str = step["operator"]
    if prop.startswith("event."):
        present = prop.removeprefix("event.") in event_names
        return present if operator == "exists" else not present
    actual = _lookup(contact, prop)
    if operator == "exists":
        return actual is not _MISSING and actual is not None
    if operator == "notExists":
        return actual is _MISSING or actual is None
    if actual is _MISSING:
        return operator in ("notEquals", "notContains")
    return _compare(operator, actual, step.get("value"))


def _lookup(contact: Any, prop: str) -> Any:
    if prop == "contact.email":
        return contact.email
    value: Any = contact.properties or {}
    for part in prop.removeprefix("contact.properties.").split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(operator: str, actual: Any, expected: Any) -> bool:
    if operator in ("equals", "notEquals"):
        a, b = _number(actual), _number(expected)
        same = a == b if a is not None and b is not None else actual == expected or str(actual) == str(expected)
        return same if operator == "equals" else not same
    if operator in ("contains", "notContains"):
        found = expected in actual if isinstance(actual, (list, tuple)) else str(expected) in str(actual)
        return found if operator == "contains" else not found
    a, b = _number(actual), _number(expected)
    if a is None or b is None:
        return False
    return a > b if operator == "greaterThan" else a < b

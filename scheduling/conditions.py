"""One condition grammar, for sequence triggers, condition steps and exit conditions (and, later,
segments): parsed once into a plain structure, evaluated against what is known of a contact.

A condition is a comparison or a group:

    {property: contact.properties.plan, operator: equals, value: pro}
    {property: contact.email, operator: contains, value: "@example.com"}
    {property: event.properties.amount, operator: greaterThanOrEquals, value: 100}   # the triggering event
    {property: event.purchase, operator: exists}                   # has the contact done it
    {property: event.purchase, operator: greaterThan, value: 2, within: 30d}   # how often, lately
    {property: event.email.opened, operator: exists, send: previous}   # for the previous email
    {and: [<condition>, ...]}      {or: [<condition>, ...]}          # nested freely

Operators: equals, notEquals, contains, notContains, greaterThan, lessThan, greaterThanOrEquals,
lessThanOrEquals, exists, notExists, in camelCase or snake_case (`greater_than_or_equals`).
Values are compared by type: numbers as numbers, ISO dates and timestamps as instants, other
strings as strings (case-sensitively; contains ignores case and, on a list, tests membership).
A missing property makes every comparison false except notEquals, notContains and notExists.
An event condition counts the contact's events of that name since the enrolment began (or since
`within` ago, whichever is later); exists is "at least one", and a number compares the count.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict, cast

from kraiter.durations import parse_duration

OPERATORS = (
    "equals",
    "notEquals",
    "contains",
    "notContains",
    "greaterThan",
    "lessThan",
    "greaterThanOrEquals",
    "lessThanOrEquals",
    "exists",
    "notExists",
)
_SNAKE = {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name): name for name in OPERATORS}
UNARY = ("exists", "notExists")
ORDERED = ("greaterThan", "lessThan", "greaterThanOrEquals", "lessThanOrEquals")
MAX_DEPTH = 8  # groups inside groups
MAX_CONDITIONS = 100  # comparisons in one condition
_PROPERTY = re.compile(
    r"contact\.(?:email|properties(?:\.[A-Za-z0-9_\-]{1,100}){1,5})"
    r"|event\.properties(?:\.[A-Za-z0-9_\-]{1,100}){1,5}"
    r"|event\.[A-Za-z0-9_.:\-]{1,100}"
)


class ConditionError(Exception):
    """What is wrong (naming the field), and where (`path` such as `and[1]`, "" for the whole)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class Comparison(TypedDict, total=False):
    property: str
    operator: str
    value: Any
    within: int  # seconds: only events this recent count
    send: str  # "previous": only events about the enrolment's previous email


class Group(TypedDict, total=False):
    all: list[Any]  # and
    any: list[Any]  # or


Condition = Comparison | Group


@dataclass(frozen=True)
class EventRecord:
    name: str
    at: datetime
    send_id: str | None = None


@dataclass
class Facts:
    """What a condition may look at."""

    email: str
    properties: Mapping[str, Any]
    events: Sequence[EventRecord] = ()  # the contact's events (at least those conditions may ask about)
    since: datetime | None = None  # the enrolment's start: events before it do not count
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    trigger_properties: Mapping[str, Any] = field(default_factory=dict)  # the triggering event's
    previous_send_id: str | None = None


# --- parsing -------------------------------------------------------------------------------------


def parse_condition(raw: Any, path: str = "") -> Condition:
    """The validated, normalised condition; ConditionError naming where it is wrong."""
    counter = [0]
    return _parse(raw, path, 0, counter)


def parse_conditions(raw: Any, path: str = "") -> Condition:
    """A list of conditions (all must hold), a single condition, or None (always true)."""
    if raw is None:
        return {"all": []}
    if isinstance(raw, list):
        counter = [0]
        return {"all": [_parse(item, f"{path}[{n}]", 1, counter) for n, item in enumerate(raw)]}
    return parse_condition(raw, path)


def _parse(raw: Any, path: str, depth: int, counter: list[int]) -> Condition:
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError("a condition is a mapping with property/operator, or an and/or list", path)
    groups = [key for key in ("and", "or", "all", "any") if key in raw]
    if groups:
        if len(raw) != 1:
            raise ConditionError("a group has exactly one key, and or or", path)
        key = groups[0]
        items = raw[key]
        if not isinstance(items, list):
            raise ConditionError(f"'{key}' must be a list of conditions", path)
        if depth >= MAX_DEPTH:
            raise ConditionError(f"groups may be nested at most {MAX_DEPTH} deep", path)
        inner = [_parse(item, _join(path, f"{key}[{n}]"), depth + 1, counter) for n, item in enumerate(items)]
        return {"all": inner} if key in ("and", "all") else {"any": inner}
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise ConditionError(f"a condition may hold at most {MAX_CONDITIONS} comparisons", path)
    return _parse_comparison(raw, path)


def _parse_comparison(raw: Mapping[str, Any], path: str) -> Comparison:
    unknown = set(raw) - {"property", "operator", "value", "within", "send"}
    if unknown:
        raise ConditionError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", path)
    prop, operator = raw.get("property"), _SNAKE.get(str(raw.get("operator")), raw.get("operator"))
    if not isinstance(prop, str) or not _PROPERTY.fullmatch(prop):
        raise ConditionError(
            "'property' must be contact.email, contact.properties.<name>, event.properties.<name> "
            "(the triggering event's) or event.<name> (the contact's events)",
            path,
        )
    if operator not in OPERATORS:
        raise ConditionError(f"'operator' must be one of: {', '.join(OPERATORS)}", path)
    comparison: Comparison = {"property": prop, "operator": str(operator)}
    history = _is_history(prop)
    if operator not in UNARY:
        if "value" not in raw:
            raise ConditionError(f"the operator {operator} needs a 'value'", path)
        value = raw["value"]
        if isinstance(value, (dict, list)):
            raise ConditionError("'value' must be a string, a number, true, false or null", path)
        if operator in ORDERED and _orderable(value) is None:
            raise ConditionError(f"the operator {operator} needs a number, a date or a timestamp as 'value'", path)
        if history and _number(value) is None:
            raise ConditionError("an event condition compares how many there were: 'value' is a number", path)
        if history and operator in ("contains", "notContains"):
            raise ConditionError("an event condition uses exists, notExists or a count comparison", path)
        comparison["value"] = value
    for key in ("within", "send"):
        if key in raw and not history:
            raise ConditionError(f"'{key}' applies to event conditions (event.<name>) only", path)
    if "within" in raw:
        try:
            comparison["within"] = parse_duration(raw["within"])
        except ValueError as exc:
            raise ConditionError(str(exc), path) from None
    if "send" in raw:
        if raw["send"] != "previous":
            raise ConditionError("'send' may only be previous (the enrolment's previous email)", path)
        comparison["send"] = "previous"
    return comparison


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path and not key.startswith("[") else f"{path}{key}" if path else key


def _is_history(prop: str) -> bool:
    return prop.startswith("event.") and not prop.startswith("event.properties.")


def event_names(condition: Condition) -> set[str]:
    """The event names a condition asks the contact's history about."""
    names: set[str] = set()
    for comparison in comparisons(condition):
        if _is_history(comparison["property"]):
            names.add(comparison["property"].removeprefix("event."))
    return names


def comparisons(condition: Condition) -> Iterable[Comparison]:
    group = cast(Group, condition)
    children = group.get("all", group.get("any"))
    if children is None:
        yield cast(Comparison, condition)
        return
    for child in children:
        yield from comparisons(child)


def describe(condition: Condition) -> str:
    """A short human reading of a condition (for a reason stored on an enrolment)."""
    group = cast(Group, condition)
    if "all" in group or "any" in group:
        word, children = (" and ", group["all"]) if "all" in group else (" or ", group["any"])
        return "(" + word.join(describe(child) for child in children) + ")" if children else "(always)"
    comparison = cast(Comparison, condition)
    text = f"{comparison['property']} {comparison['operator']}"
    if "value" in comparison:
        text += f" {comparison['value']!r}"
    return text[:200]


# --- evaluation ----------------------------------------------------------------------------------

_MISSING = object()


def condition_holds(condition: Condition, facts: Facts) -> bool:
    group = cast(Group, condition)
    if "all" in group:
        return all(condition_holds(child, facts) for child in group["all"])
    if "any" in group:
        return any(condition_holds(child, facts) for child in group["any"])
    comparison = cast(Comparison, condition)
    prop, operator = comparison["property"], comparison["operator"]
    if _is_history(prop):
        count = _count_events(comparison, facts)
        if operator in UNARY:
            return (count > 0) == (operator == "exists")
        return _compare(operator, count, comparison.get("value"))
    actual = _lookup(prop, facts)
    if operator == "exists":
        return actual is not _MISSING and actual is not None
    if operator == "notExists":
        return actual is _MISSING or actual is None
    if actual is _MISSING:
        return operator in ("notEquals", "notContains")
    return _compare(operator, actual, comparison.get("value"))


def _count_events(comparison: Comparison, facts: Facts) -> int:
    name = comparison["property"].removeprefix("event.")
    since = facts.since
    if "within" in comparison:
        recent = facts.now - timedelta(seconds=comparison["within"])
        since = max(since, recent) if since else recent
    previous_only = comparison.get("send") == "previous"
    if previous_only and facts.previous_send_id is None:
        return 0
    return sum(
        1
        for event in facts.events
        if event.name == name
        and (since is None or event.at >= since)
        and (not previous_only or event.send_id == facts.previous_send_id)
    )


def _lookup(prop: str, facts: Facts) -> Any:
    if prop == "contact.email":
        return facts.email
    if prop.startswith("event.properties."):
        value: Any = facts.trigger_properties
        parts = prop.removeprefix("event.properties.").split(".")
    else:
        value = facts.properties
        parts = prop.removeprefix("contact.properties.").split(".")
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not re.match(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _orderable(value: Any) -> float | datetime | None:
    number = _number(value)
    return number if number is not None else _instant(value)


def _same_kind(actual: Any, expected: Any) -> tuple[Any, Any] | None:
    """Both as numbers, or both as instants; None when they are not comparable that way."""
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return a, b
    x, y = _instant(actual), _instant(expected)
    if x is not None and y is not None:
        return x, y
    return None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "greaterThan": lambda a, b: a > b,
    "lessThan": lambda a, b: a < b,
    "greaterThanOrEquals": lambda a, b: a >= b,
    "lessThanOrEquals": lambda a, b: a <= b,
}


def _compare(operator: str, actual: Any, expected: Any) -> bool:
    if operator in ("equals", "notEquals"):
        pair = _same_kind(actual, expected)
        same = pair[0] == pair[1] if pair else actual == expected
        return same if operator == "equals" else not same
    if operator in ("contains", "notContains"):
        if isinstance(actual, list):
            found = any(item == expected or str(item).lower() == str(expected).lower() for item in actual)
        else:
            found = str(expected).lower() in str(actual).lower()
        return found if operator == "contains" else not found
    pair = _same_kind(actual, expected)
    return pair is not None and _ORDER[operator](*pair)

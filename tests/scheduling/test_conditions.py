"""The condition grammar (scheduling/conditions.py), on its own: every operator, every type, paths,
event history, groups, and the errors and limits of parsing. Sequences (and later segments) use it."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduling.conditions import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    ConditionError,
    EventRecord,
    Facts,
    condition_holds,
    describe,
    event_names,
    parse_condition,
    parse_conditions,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def facts(**properties) -> Facts:
    return Facts(email="alice@example.com", properties=properties, now=NOW)


def holds(condition, given: Facts) -> bool:
    return condition_holds(parse_condition(condition), given)


def prop(operator, value=None, name="x"):
    condition = {"property": f"contact.properties.{name}", "operator": operator}
    if value is not None:
        condition["value"] = value
    return condition


@pytest.mark.parametrize(
    ("operator", "actual", "value", "expected"),
    [
        ("equals", "pro", "pro", True),
        ("equals", "Pro", "pro", False),  # strings compare case-sensitively
        ("equals", 3, "3", True),  # numbers as numbers, whatever their spelling
        ("equals", 3.0, 3, True),
        ("equals", True, True, True),
        ("equals", "2025-01-01", "2025-01-01T00:00:00Z", True),  # instants as instants
        ("notEquals", "pro", "free", True),
        ("notEquals", 10, "10", False),
        ("contains", "Alice Wilson", "wilson", True),  # contains ignores case
        ("contains", ["beta", "vip"], "VIP", True),  # and on a list tests membership
        ("contains", ["beta"], "vip", False),
        ("notContains", "Alice", "bob", True),
        ("notContains", ["a", "b"], "a", False),
        ("greaterThan", 10, 9, True),
        ("greaterThan", "10", 9, True),
        ("greaterThan", 9, 9, False),
        ("greaterThan", 10, 9.5, True),
        ("greaterThan", "2025-03-01", "2025-01-01", True),
        ("greaterThan", "2024-12-31T23:59:59Z", "2025-01-01", False),
        ("greaterThan", "abc", 1, False),  # not comparable: false, never an error
        ("lessThan", 2, 10, True),  # numerically, not as text ("2" > "10")
        ("lessThan", "2025-01-01T00:00:00+02:00", "2025-01-01", True),  # zones honoured
        ("greaterThanOrEquals", 100, 100, True),
        ("greaterThanOrEquals", 99.9, 100, False),
        ("lessThanOrEquals", "2025-01-01", "2025-01-01", True),
        ("lessThanOrEquals", 101, 100, False),
    ],
)
def test_each_operator_compares_by_type(operator, actual, value, expected):
    assert holds(prop(operator, value), facts(x=actual)) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("equals", False),
        ("notEquals", True),
        ("contains", False),
        ("notContains", True),
        ("greaterThan", False),
        ("lessThan", False),
        ("greaterThanOrEquals", False),
        ("lessThanOrEquals", False),
    ],
)
def test_a_missing_property_is_false_except_for_the_negations(operator, expected):
    assert holds(prop(operator, 1), facts()) is expected


def test_exists_and_not_exists():
    assert holds(prop("exists"), facts(x=0)) and holds(prop("exists"), facts(x=False))
    assert not holds(prop("exists"), facts()) and not holds(prop("exists"), facts(x=None))
    assert holds(prop("notExists"), facts()) and holds(prop("notExists"), facts(x=None))
    assert not holds(prop("notExists"), facts(x=""))


@pytest.mark.parametrize(
    ("snake", "camel"),
    [
        ("not_equals", "notEquals"),
        ("greater_than_or_equals", "greaterThanOrEquals"),
        ("less_than_or_equals", "lessThanOrEquals"),
        ("not_exists", "notExists"),
        ("not_contains", "notContains"),
    ],
)
def test_the_sdks_snake_case_operators_are_the_same_operators(snake, camel):
    assert parse_condition(prop(snake, None if "exists" in snake else 1)) == parse_condition(
        prop(camel, None if "exists" in camel else 1)
    )


def test_paths_reach_the_email_nested_properties_and_the_triggering_event():
    given = Facts(
        email="alice@example.com",
        properties={"company": {"size": 250}},
        trigger_properties={"amount": 120, "currency": "EUR"},
        now=NOW,
    )
    assert holds({"property": "contact.email", "operator": "contains", "value": "@EXAMPLE.com"}, given)
    assert holds({"property": "contact.properties.company.size", "operator": "greaterThan", "value": 100}, given)
    assert holds({"property": "event.properties.amount", "operator": "greaterThanOrEquals", "value": 100}, given)
    assert not holds({"property": "event.properties.currency", "operator": "equals", "value": "USD"}, given)
    assert holds({"property": "event.properties.missing", "operator": "notExists"}, given)


def history(*events: tuple[str, timedelta, str | None], since: datetime | None = None, previous=None) -> Facts:
    return Facts(
        email="a@example.com",
        properties={},
        events=[EventRecord(name, NOW - ago, send) for name, ago, send in events],
        since=since,
        now=NOW,
        previous_send_id=previous,
    )


def test_event_conditions_count_the_contacts_events():
    given = history(("purchase", timedelta(days=1), None), ("purchase", timedelta(days=40), None))
    assert holds({"property": "event.purchase", "operator": "exists"}, given)
    assert not holds({"property": "event.refund", "operator": "exists"}, given)
    assert holds({"property": "event.refund", "operator": "notExists"}, given)
    assert holds({"property": "event.purchase", "operator": "equals", "value": 2}, given)
    assert holds({"property": "event.purchase", "operator": "greaterThanOrEquals", "value": 2}, given)
    # within: only events that recent count
    assert holds({"property": "event.purchase", "operator": "equals", "value": 1, "within": "30d"}, given)
    assert not holds({"property": "event.purchase", "operator": "exists", "within": "12h"}, given)


def test_events_before_the_enrolment_do_not_count():
    given = history(("purchase", timedelta(days=3), None), since=NOW - timedelta(days=1))
    assert not holds({"property": "event.purchase", "operator": "exists"}, given)


def test_system_events_and_the_previous_email():
    given = history(("email.opened", timedelta(hours=1), "snd_b"), previous="snd_a")
    assert holds({"property": "event.email.opened", "operator": "exists"}, given)  # some email was opened
    # ... but not the enrolment's previous email
    assert not holds({"property": "event.email.opened", "operator": "exists", "send": "previous"}, given)
    given = history(("email.opened", timedelta(hours=1), "snd_a"), previous="snd_a")
    assert holds({"property": "event.email.opened", "operator": "exists", "send": "previous"}, given)
    assert not holds(
        {"property": "event.email.opened", "operator": "exists", "send": "previous"}, history(previous=None)
    )


def test_and_or_groups_nest():
    condition = {
        "or": [
            {"and": [prop("equals", "pro", "plan"), prop("greaterThan", 10, "seats")]},
            prop("equals", True, "vip"),
        ]
    }
    assert holds(condition, facts(plan="pro", seats=11))
    assert not holds(condition, facts(plan="pro", seats=10))
    assert holds(condition, facts(vip=True))
    assert holds({"and": []}, facts()) and not holds({"or": []}, facts())
    assert parse_conditions([prop("exists")]) == parse_condition({"and": [prop("exists")]})
    assert condition_holds(parse_conditions(None), facts())


def test_describe_and_event_names():
    condition = parse_condition(
        {"and": [prop("equals", "pro", "plan"), {"property": "event.email.clicked", "operator": "exists"}]}
    )
    assert describe(condition) == "(contact.properties.plan equals 'pro' and event.email.clicked exists)"
    assert event_names(condition) == {"email.clicked"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("plan", "a condition is a mapping"),
        ({}, "a condition is a mapping"),
        ({"property": "contact.plan", "operator": "exists"}, "'property' must be contact.email"),
        ({"property": "contact.properties.x", "operator": "like", "value": 1}, "'operator' must be one of: equals"),
        ({"property": "contact.properties.x", "operator": "equals"}, "the operator equals needs a 'value'"),
        ({"property": "contact.properties.x", "operator": "equals", "value": [1]}, "'value' must be a string"),
        (
            {"property": "contact.properties.x", "operator": "lessThan", "value": "soon"},
            "needs a number, a date or a timestamp",
        ),
        ({"property": "event.paid", "operator": "equals", "value": "yes"}, "'value' is a number"),
        ({"property": "event.paid", "operator": "contains", "value": 1}, "exists, notExists or a count"),
        ({"property": "contact.properties.x", "operator": "exists", "within": "1d"}, "'within' applies to event"),
        ({"property": "event.paid", "operator": "exists", "within": "soon"}, "not a duration"),
        ({"property": "event.paid", "operator": "exists", "send": "first"}, "'send' may only be previous"),
        ({"property": "contact.properties.x", "operator": "exists", "extra": 1}, "unknown field(s) extra"),
        ({"and": [prop("exists")], "or": []}, "exactly one key"),
        ({"and": prop("exists")}, "'and' must be a list"),
        ({"or": [prop("exists"), {"property": "x", "operator": "exists"}]}, "or[1]: 'property' must be"),
    ],
)
def test_errors_say_what_is_wrong_and_where(raw, message):
    with pytest.raises(ConditionError) as caught:
        parse_condition(raw)
    assert message in str(caught.value)


def test_nesting_and_size_are_bounded():
    deep = prop("exists")
    for _ in range(MAX_DEPTH):
        deep = {"and": [deep]}
    parse_condition(deep)
    with pytest.raises(ConditionError, match=f"nested at most {MAX_DEPTH} deep"):
        parse_condition({"and": [deep]})
    parse_condition({"or": [prop("exists")] * MAX_CONDITIONS})
    with pytest.raises(ConditionError, match=f"at most {MAX_CONDITIONS} comparisons"):
        parse_condition({"or": [prop("exists")] * (MAX_CONDITIONS + 1)})

"""Sequence definitions (docs/api.md 8): both forms, durations, conditions, and errors that name the step."""

import pytest

from kraiter.durations import parse_duration
from scheduling.definition import DefinitionError, parse_definition

LONG = """
trigger:
  event: signed_up
steps:
  - action: email
    template: welcome-email
  - action: delay
    duration: 1d
  - action: condition
    property: contact.properties.plan
    operator: equals
    value: pro
    onTrue: exit
  - action: email
    template: getting-started
"""
SHORT = """
trigger: {event: signed_up}
steps:
  - send: welcome-email
  - delay: 1d
  - action: condition
    property: contact.properties.plan
    operator: equals
    value: pro
    onTrue: exit
  - send: getting-started
"""


def test_long_and_short_forms_parse_to_the_same_structure():
    assert parse_definition(LONG) == parse_definition(SHORT)
    definition = parse_definition(LONG)
    assert definition.trigger_events == ["signed_up"] and definition.templates == ["welcome-email", "getting-started"]
    assert definition.steps[1] == {"type": "delay", "seconds": 86400}
    assert definition.steps[2]["onFalse"] == "continue"


def test_a_mapping_is_accepted_as_well_as_yaml_text():
    assert parse_definition({"steps": [{"send": "a"}]}).steps == [{"type": "email", "template": "a"}]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("3d", 259200), ("1w", 604800), ("1d12h", 129600), ("1h30m", 5400)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-1d", "0m", "1.5d", "1y", "d", "", "400d", "1 d", 5, None])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_an_email_steps_zero_delay_means_at_once_but_a_zero_delay_step_is_refused():
    # The SDK reference writes {type: 'email', templateId, delay: '0d'} for "send it at once".
    steps = parse_definition({"steps": [{"type": "email", "templateId": "a", "delay": "0d"}]}).steps
    assert steps == [{"type": "email", "template": "a"}]
    with pytest.raises(DefinitionError, match="longer than zero"):
        parse_definition({"steps": [{"type": "email", "templateId": "a"}, {"type": "delay", "duration": "0d"}]})


def test_triggers_from_the_body_join_the_definitions():
    definition = parse_definition("steps: [{send: a}]", extra_triggers=["trial_started"])
    assert definition.triggers == [{"event": "trial_started"}]
    assert parse_definition("trigger: {api: true}\nsteps: [{send: a}]").triggers == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("steps: [\n  - send: a\n  -: :", "invalid YAML on line"),
        ("just text", "mapping"),
        ("steps: []", "non-empty"),
        ("steps: [{delay: 1d}]", "at least one email"),
        ("steps: [{send: a}, {action: sms, to: x}]", "step 2: unknown action 'sms'"),
        ("steps: [{send: a}, {action: delay, duration: -3d}]", "step 2: '-3d' is not a duration"),
        ("steps: [{send: a}, {delay: 9999d}]", "step 2: a delay may be at most 366 days"),
        ("steps: [{send: Bad Template}]", "step 1: an email step needs a template id"),
        ("steps: [{action: email}]", "step 1: an email step needs a template id"),
        ("steps: [{send: a, extra: 1}]", "step 1: unknown field(s) extra"),
        (
            "steps: [{send: a}, {action: condition, property: contact.properties.x, operator: like, value: 1}]",
            "step 2: 'operator' must be",
        ),
        (
            "steps: [{send: a}, {action: condition, property: contact.x, operator: exists}]",
            "step 2: 'property' must be",
        ),
        (
            "steps: [{send: a}, {action: condition, property: contact.properties.n, operator: greaterThan, value: ten}]",
            "needs a number",
        ),
        (
            "steps: [{send: a}, {action: condition, property: contact.properties.n, operator: equals}]",
            "needs a 'value'",
        ),
        (
            "steps: [{send: a}, {action: condition, property: contact.properties.n, operator: exists, onTrue: stop}]",
            "step 2: 'onTrue' must be exit, continue, or a step's id or number: no step 'stop'",
        ),
        (
            "steps: [{send: a}, {action: condition, property: event.paid, operator: contains, value: 1}]",
            "step 2: an event condition uses exists, notExists or a count comparison",
        ),
        ("trigger: {event: 'bad name!'}\nsteps: [{send: a}]", "trigger 1: 'bad name!' is not a valid event name"),
        ("steps: [{send: a}]\nschedule: daily", "unknown top-level"),
        ("steps: [{}]", "step 1: each step must be a mapping"),
        ("steps: [{action: null}]", "step 1: missing 'action'"),
    ],
)
def test_errors_say_which_step_and_what_is_wrong(source, message):
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source)
    assert message in str(caught.value)


def test_ten_thousand_steps_are_refused():
    with pytest.raises(DefinitionError, match="at most 200 steps"):
        parse_definition({"steps": [{"send": "a"}] * 10_000})
    with pytest.raises(DefinitionError, match="larger than 64 KB"):
        parse_definition("steps:\n" + "  - send: a\n" * 10_000)


def test_yaml_bombs_and_huge_documents_are_refused():
    with pytest.raises(DefinitionError, match="larger than"):
        parse_definition("steps: [" + "{send: a}, " * 10_000 + "]")
    with pytest.raises(DefinitionError):
        parse_definition("a: &a [1]\nsteps: !!python/object/apply:os.system ['true']")


# Hostile definitions (issue 12)


def test_yaml_is_loaded_safely_even_when_the_python_object_would_be_a_valid_definition():
    # Under yaml.unsafe_load this builds {"steps": [...]}, a valid definition; safe loading refuses the tag
    source = "!!python/object/apply:builtins.dict\nkwds:\n  steps: [{send: welcome-email}]\n"
    with pytest.raises(DefinitionError, match=r"invalid YAML on line 1: .*python/object/apply"):
        parse_definition(source)


def _laughs(levels: int) -> str:
    """A condition value that is nine aliases of nine aliases of ...: tiny as YAML, 9**levels values as JSON."""
    anchors = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    anchors += [f"&l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return (
        "steps:\n  - send: a\n  - action: condition\n    property: contact.properties.plan\n"
        f"    operator: equals\n    value: [{', '.join(anchors)}]\n"
    )


def test_an_alias_expansion_bomb_is_refused():
    assert len(_laughs(6)) < 1000
    with pytest.raises(DefinitionError, match=r"the definition holds more than 10,000 values \(aliases expanded\)"):
        parse_definition(_laughs(6))


@pytest.mark.parametrize(
    "source",
    [
        "steps: " + "[" * 5_000 + "]" * 5_000,
        "steps:\n  " + "- " * 5_000 + "x",
        "steps: " + "{a: " * 3_000 + "}" * 3_000,
    ],
)
def test_yaml_nested_thousands_deep_is_refused_before_it_is_composed(source):
    # PyYAML's composer recursed until RecursionError: a 500
    with pytest.raises(DefinitionError, match="the definition is nested more than 32 levels deep"):
        parse_definition(source)


CONDITION = "steps: [{send: a}, {action: condition, property: contact.properties.x, operator: equals, value: %s}]"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!timestamp 2025-01-01", "'steps[1].value' is a date, not text, a number, a list or a map"),
        (".nan", "'steps[1].value' is not a finite number"),
        ("!!binary aGVsbG8=", "'steps[1].value' is a bytes"),
        ("!!set {a, b}", "'steps[1].value' is a set"),
        ('"a\\0b"', "'steps[1].value' contains a NUL character"),
        ("&c [*c]", "nested more than 32 levels deep"),  # a list that holds itself
        ("1" * 5_000, "invalid YAML: Exceeds the limit (4300 digits)"),
    ],
)
def test_values_a_json_column_cannot_hold_are_refused_with_where(value, message):
    # Each was a 500 when the version was stored (or when YAML built the value)
    with pytest.raises(DefinitionError) as caught:
        parse_definition(CONDITION % value)
    assert message in str(caught.value)


def test_a_condition_about_the_previous_email_is_a_condition_not_a_short_send():
    # `send: previous` inside a condition step is the condition's own field
    definition = parse_definition(
        "steps:\n  - send: a\n  - {action: condition, property: event.email.opened, operator: exists, send: previous}"
    )
    assert definition.steps[1]["type"] == "condition"
    assert definition.steps[1]["condition"] == {
        "property": "event.email.opened",
        "operator": "exists",
        "send": "previous",
    }

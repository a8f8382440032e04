"""Sequence definitions: YAML (long and short forms) parsed into one validated structure.

    trigger:
      event: signed_up          # or: api: true
    steps:
      - action: email           # long form          - send: welcome-email   (short form)
        template: welcome-email
      - action: delay           #                    - delay: 1d12h
        duration: 1d12h
      - action: condition
        property: contact.properties.plan     # or event.<name>
        operator: equals
        value: pro
        onTrue: exit            # exit | continue (default continue)
        onFalse: continue

Every error says which step and what is wrong. The parsed form is plain JSON (stored with each
version of a sequence, so enrolled contacts finish the version they started).

YAML is loaded safely (no Python objects), and bounded before and after: PyYAML's composer
recurses once per level, so the token stream is scanned for nesting first (the scanner does not
recurse); the loaded document must then hold only JSON values, storable text and at most
MAX_VALUES values counted with aliases expanded (the "billion laughs": nine aliases of nine
aliases of ... make a small document that is enormous once stored as JSON).
"""

import re
from dataclasses import dataclass
from typing import Any

import yaml

from contacts.events import EVENT_NAME
from kraiter.api.fields import SLUG_PATTERN
from kraiter.durations import parse_duration
from kraiter.untrusted import MAX_NESTING, UntrustedInput, check_value

MAX_STEPS = 200
MAX_DEFINITION_BYTES = 64 * 1024
MAX_VALUES = 10_000  # in a loaded definition, aliases expanded
OPERATORS = (
    "equals",
    "notEquals",
    "contains",
    "notContains",
    "greaterThan",
    "lessThan",
    "exists",
    "notExists",
)
_PROPERTY = re.compile(r"contact\.(?:email|properties(?:\.[A-Za-z0-9_\-]{1,100}){1,5})|event\.[A-Za-z0-9_.:\-]{1,100}")


class DefinitionError(Exception):
    def __init__(self, message: str, *, step: int | None = None) -> None:
        super().__init__(f"step {step}: {message}" if step else message)
        self.step = step


@dataclass(frozen=True)
class Definition:
    steps: list[dict[str, Any]]  # {"type": "email"|"delay"|"condition", ...}
    triggers: list[str]  # event names that enrol a contact (the API can always enrol)

    @property
    def templates(self) -> list[str]:
        return [step["template"] for step in self.steps if step["type"] == "email"]


def parse_definition(source: Any, *, extra_triggers: list[str] | None = None) -> Definition:
    """The validated definition of YAML text (or an already parsed mapping); DefinitionError otherwise."""
    document = _load(source)
    if not isinstance(document, dict):
        raise DefinitionError("the definition must be a mapping with a 'steps' list")
    unknown = set(document) - {"trigger", "triggers", "steps"}
    if unknown:
        raise DefinitionError(f"unknown top-level field(s): {', '.join(sorted(map(str, unknown)))}")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise DefinitionError("'steps' must be a non-empty list")
    if len(raw_steps) > MAX_STEPS:
        raise DefinitionError(f"a sequence may have at most {MAX_STEPS} steps (this one has {len(raw_steps)})")
    steps = [_parse_step(raw, number) for number, raw in enumerate(raw_steps, start=1)]
    if not any(step["type"] == "email" for step in steps):
        raise DefinitionError("a sequence needs at least one email step")
    triggers = _parse_trigger(document.get("trigger"))
    for name in [*(document.get("triggers") or []), *(extra_triggers or [])]:
        if not isinstance(name, str) or not EVENT_NAME.fullmatch(name):
            raise DefinitionError(f"'{name}' is not a valid event name for a trigger")
        if name not in triggers:
            triggers.append(name)
    return Definition(steps=steps, triggers=triggers)


_OPENING_TOKENS = (
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
)
_CLOSING_TOKENS = (yaml.BlockEndToken, yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)


def _load(source: Any) -> Any:
    if not isinstance(source, str):
        return source
    if len(source.encode()) > MAX_DEFINITION_BYTES:
        raise DefinitionError(f"the definition is larger than {MAX_DEFINITION_BYTES // 1024} KB")
    try:
        _check_nesting(source)
        document = yaml.safe_load(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" on line {mark.line + 1}" if mark else ""
        raise DefinitionError(f"invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"invalid YAML: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise DefinitionError(f"invalid YAML: {exc}") from None
    try:
        check_value(document, max_nodes=MAX_VALUES)
    except UntrustedInput as exc:
        raise DefinitionError(exc.describe("the definition").removesuffix(".")) from None
    return document


def _check_nesting(source: str) -> None:
    """DefinitionError when collections nest deeper than MAX_NESTING. Counted on the scanner's
    tokens, before the composer (which recurses per level) sees them. A sequence written without
    indentation under a key has no start token, so this counts at least every other level."""
    depth = 0
    for token in yaml.scan(source, Loader=yaml.SafeLoader):
        if isinstance(token, _OPENING_TOKENS):
            depth += 1
            if depth > MAX_NESTING:
                line = token.start_mark.line + 1
                raise DefinitionError(f"the definition is nested more than {MAX_NESTING} levels deep (line {line})")
        elif isinstance(token, _CLOSING_TOKENS):
            depth -= 1


def _parse_trigger(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, dict) or set(raw) - {"event", "api"}:
        raise DefinitionError("'trigger' must be {event: <name>} or {api: true}")
    if "event" in raw:
        name = raw["event"]
        if not isinstance(name, str) or not EVENT_NAME.fullmatch(name):
            raise DefinitionError("'trigger.event' must be an event name")
        return [name]
    if raw.get("api") is not True:
        raise DefinitionError("'trigger.api' must be true")
    return []


def _parse_step(raw: Any, number: int) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise DefinitionError("each step must be a mapping such as {action: email, template: ...}", step=number)
    if "send" in raw:
        _only(raw, {"send"}, number)
        return _email(raw["send"], number)
    if "delay" in raw and "action" not in raw:
        _only(raw, {"delay"}, number)
        return _delay(raw["delay"], number)
    action = raw.get("action")
    if action == "email":
        _only(raw, {"action", "template"}, number)
        return _email(raw.get("template"), number)
    if action == "delay":
        _only(raw, {"action", "duration"}, number)
        return _delay(raw.get("duration"), number)
    if action == "condition":
        _only(raw, {"action", "property", "operator", "value", "onTrue", "onFalse"}, number)
        return _condition(raw, number)
    if action is None:
        raise DefinitionError(
            "missing 'action' (email, delay or condition), or a short form (send:, delay:)", step=number
        )
    raise DefinitionError(f"unknown action '{action}' (use email, delay or condition)", step=number)


def _only(raw: dict[str, Any], allowed: set[str], number: int) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise DefinitionError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", step=number)


def _email(template: Any, number: int) -> dict[str, Any]:
    if not isinstance(template, str) or not SLUG_PATTERN.fullmatch(template):
        raise DefinitionError("an email step needs a template id (1-64 characters of a-z 0-9 - _)", step=number)
    return {"type": "email", "template": template}


def _delay(duration: Any, number: int) -> dict[str, Any]:
    try:
        return {"type": "delay", "seconds": parse_duration(duration)}
    except ValueError as exc:
        raise DefinitionError(str(exc), step=number) from None


def _condition(raw: dict[str, Any], number: int) -> dict[str, Any]:
    prop, operator = raw.get("property"), raw.get("operator")
    if not isinstance(prop, str) or not _PROPERTY.fullmatch(prop):
        raise DefinitionError(
            "'property' must be contact.email, contact.properties.<name> or event.<name>", step=number
        )
    if operator not in OPERATORS:
        raise DefinitionError(f"'operator' must be one of: {', '.join(OPERATORS)}", step=number)
    if prop.startswith("event.") and operator not in ("exists", "notExists"):
        raise DefinitionError("an event condition uses the operator exists or notExists", step=number)
    needs_value = operator not in ("exists", "notExists")
    if needs_value and "value" not in raw:
        raise DefinitionError(f"the operator {operator} needs a 'value'", step=number)
    value = raw.get("value")
    if operator in ("greaterThan", "lessThan") and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise DefinitionError(f"the operator {operator} needs a number 'value'", step=number)
    outcomes = {}
    for key in ("onTrue", "onFalse"):
        outcome = raw.get(key, "continue")
        if outcome not in ("exit", "continue"):
            raise DefinitionError(f"'{key}' must be exit or continue", step=number)
        outcomes[key] = outcome
    return {"type": "condition", "property": prop, "operator": operator, "value": value, **outcomes}

"""Sequence definitions: YAML (long and short forms) or JSON (the same, or the SDK's shape),
parsed into one validated structure.

    trigger:                            # or triggers: [...]; a bare name is short for {event: name}
      event: signed_up                  # or: api: true (enrol only through the API)
      conditions:                       # optional: the contact (or the event) must match
        - {property: contact.properties.plan, operator: equals, value: pro}
    exitConditions:                     # checked before every step and on every event: a match exits
      - {property: event.purchased, operator: exists}
    steps:
      - action: email                   # long form        - send: welcome-email   (short form)
        template: welcome-email
        id: welcome                     # optional, for jumps
      - action: delay                   #                  - delay: 1d12h
        duration: 1d12h
      - action: condition
        property: contact.properties.plan        # or and: [...] / or: [...] (scheduling.conditions)
        operator: equals
        value: pro
        onTrue: exit                    # exit | continue (default) | a step's id or number
        onFalse: continue
    # The SDK's JSON: steps [{type: email, templateId, delay?}, {type: delay, duration},
    #                        {type: condition, ...}], triggers [{type: event, eventName, conditions?}]

Every error says which step (or which trigger) and what is wrong. The parsed form is plain JSON,
stored with each version of a sequence (enrolled contacts finish the version they started):
`steps` (typed below; jumps resolved to step indexes), `triggers` and `exit_conditions`.
A definition whose jumps can loop without a delay is refused, with the steps of the loop.

YAML is loaded safely (no Python objects), and bounded before and after: PyYAML's composer
recurses once per level, so the token stream is scanned for nesting first (the scanner does not
recurse); the loaded document must then hold only JSON values, storable text and at most
MAX_VALUES values counted with aliases expanded (the "billion laughs": nine aliases of nine
aliases of ... make a small document that is enormous once stored as JSON). Dates stay text.
"""

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

import yaml

from contacts.events import EVENT_NAME
from kraiter.api.fields import SLUG_PATTERN
from kraiter.durations import parse_duration
from kraiter.untrusted import MAX_NESTING, UntrustedInput, check_value
from scheduling.conditions import Condition, ConditionError, parse_condition, parse_conditions

MAX_STEPS = 200
MAX_TRIGGERS = 50
MAX_DEFINITION_BYTES = 64 * 1024
MAX_VALUES = 10_000  # in a loaded definition, aliases expanded

# Where a condition step goes: "exit", "continue" (the next step), or a step's index (0-based).
Outcome = Literal["exit", "continue"] | int


class EmailStep(TypedDict):
    type: Literal["email"]
    template: str
    id: NotRequired[str]
    wait: NotRequired[int]  # seconds to wait before it (the SDK's `delay` on an email step)


class DelayStep(TypedDict):
    type: Literal["delay"]
    seconds: int
    id: NotRequired[str]


class ConditionStep(TypedDict):
    type: Literal["condition"]
    condition: Condition
    onTrue: Outcome
    onFalse: Outcome
    id: NotRequired[str]


Step = EmailStep | DelayStep | ConditionStep


class Trigger(TypedDict):
    event: str
    conditions: NotRequired[Any]  # as the client wrote them (validated); parse_conditions reads them


class DefinitionError(Exception):
    def __init__(self, message: str, *, step: int | None = None, where: str | None = None) -> None:
        prefix = f"step {step}: " if step else f"{where}: " if where else ""
        super().__init__(prefix + message)
        self.step = step


@dataclass(frozen=True)
class Definition:
    steps: list[Step]
    triggers: list[Trigger]  # the events that enrol a contact (the API can always enrol)
    exit_conditions: list[Condition] = field(default_factory=list)

    @property
    def templates(self) -> list[str]:
        return [step["template"] for step in self.steps if step["type"] == "email"]

    @property
    def trigger_events(self) -> list[str]:
        return [trigger["event"] for trigger in self.triggers]


def parse_definition(source: Any, *, extra_triggers: list[Any] | None = None) -> Definition:
    """The validated definition of YAML text (or an already parsed mapping); DefinitionError otherwise."""
    document = _load(source)
    if not isinstance(document, dict):
        raise DefinitionError("the definition must be a mapping with a 'steps' list")
    unknown = set(document) - {"trigger", "triggers", "steps", "exitConditions", "name", "id", "description"}
    if unknown:
        raise DefinitionError(f"unknown top-level field(s): {', '.join(sorted(map(str, unknown)))}")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise DefinitionError("'steps' must be a non-empty list")
    if len(raw_steps) > MAX_STEPS:
        raise DefinitionError(f"a sequence may have at most {MAX_STEPS} steps (this one has {len(raw_steps)})")
    parsed = [_parse_step(raw, number) for number, raw in enumerate(raw_steps, start=1)]
    steps = _resolve_jumps(parsed)
    if not any(step["type"] == "email" for step in steps):
        raise DefinitionError("a sequence needs at least one email step")
    _refuse_loops_without_delay(steps)
    triggers = _parse_triggers(document, extra_triggers or [])
    exits = _parse_exit_conditions(document.get("exitConditions"))
    return Definition(steps=steps, triggers=triggers, exit_conditions=exits)


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML's timestamps: `2025-01-01` stays the text a condition compares."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
        document = yaml.load(source, Loader=_Loader)  # noqa: S506 (a SafeLoader)
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


def _parse_triggers(document: dict[str, Any], extra: list[Any]) -> list[Trigger]:
    raw: list[Any] = []
    if document.get("trigger") is not None:
        raw.append(document["trigger"])
    listed = document.get("triggers")
    if listed is not None and not isinstance(listed, list):
        raise DefinitionError("'triggers' must be a list")
    raw += [*(listed or []), *extra]
    if len(raw) > MAX_TRIGGERS:
        raise DefinitionError(f"a sequence may have at most {MAX_TRIGGERS} triggers")
    triggers: list[Trigger] = []
    for number, item in enumerate(raw, start=1):
        trigger = _parse_trigger(item, f"trigger {number}")
        if trigger is not None and trigger not in triggers:
            triggers.append(trigger)
    return triggers


def _parse_trigger(raw: Any, where: str) -> Trigger | None:
    """One trigger: a name, {event, conditions?}, the SDK's {type: event, eventName, conditions?},
    or {api: true} (None: enrolled through the API only)."""
    if isinstance(raw, str):
        raw = {"event": raw}
    if not isinstance(raw, dict):
        raise DefinitionError(
            "a trigger is an event name, {event: <name>, conditions?: [...]} or {api: true}", where=where
        )
    if raw.get("api") is True and set(raw) == {"api"}:
        return None
    if raw.get("type") is not None:  # the SDK's shape
        if raw["type"] != "event":
            raise DefinitionError("the only trigger type is event", where=where)
        raw = {("event" if key == "eventName" else key): value for key, value in raw.items() if key != "type"}
    unknown = set(raw) - {"event", "conditions"}
    if unknown:
        raise DefinitionError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", where=where)
    name = raw.get("event")
    if not isinstance(name, str) or not EVENT_NAME.fullmatch(name):
        raise DefinitionError(f"'{name}' is not a valid event name for a trigger", where=where)
    trigger: Trigger = {"event": name}
    if raw.get("conditions") is not None:
        try:
            parse_conditions(raw["conditions"], "conditions")
        except ConditionError as exc:
            raise DefinitionError(str(exc), where=where) from None
        trigger["conditions"] = raw["conditions"]
    return trigger


def _parse_exit_conditions(raw: Any) -> list[Condition]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    exits = []
    for number, item in enumerate(raw, start=1):
        try:
            exits.append(parse_condition(item))
        except ConditionError as exc:
            raise DefinitionError(str(exc), where=f"exit condition {number}") from None
    return exits


_STEP_FIELDS = {
    "email": {"template", "templateId", "delay", "wait"},
    "delay": {"duration", "delay"},
    "condition": {
        "property",
        "operator",
        "value",
        "within",
        "send",
        "and",
        "or",
        "condition",
        "conditions",
        "onTrue",
        "onFalse",
    },
}


def _parse_step(raw: Any, number: int) -> tuple[Step, dict[str, Any]]:
    """The step, and its unresolved jump targets ({"onTrue": raw, ...})."""
    if not isinstance(raw, dict) or not raw:
        raise DefinitionError("each step must be a mapping such as {action: email, template: ...}", step=number)
    raw = dict(raw)
    step_id = raw.pop("id", None)
    if step_id is not None and (not isinstance(step_id, str) or not SLUG_PATTERN.fullmatch(step_id)):
        raise DefinitionError("a step's id is 1-64 characters of a-z 0-9 - _", step=number)
    kind, fields = _kind(raw, number)
    unknown = set(fields) - _STEP_FIELDS[kind]
    if unknown:
        raise DefinitionError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", step=number)
    jumps: dict[str, Any] = {}
    step: Step
    if kind == "email":
        step = _email(fields.get("template", fields.get("templateId")), number)
        wait = fields.get("delay", fields.get("wait"))
        if wait is not None and _seconds(wait, number, allow_zero=True):  # the SDK's '0d': no wait
            step["wait"] = _seconds(wait, number)
    elif kind == "delay":
        step = {"type": "delay", "seconds": _seconds(fields.get("duration", fields.get("delay")), number)}
    else:
        step, jumps = _condition(fields, number)
    if step_id is not None:
        step["id"] = step_id
    return step, jumps


def _kind(raw: dict[str, Any], number: int) -> tuple[str, dict[str, Any]]:
    """Which kind of step, in which of the forms, and its fields without the form's marker."""
    if "send" in raw and "action" not in raw and "type" not in raw:  # (a condition's send: previous)
        if set(raw) - {"send"}:
            raise DefinitionError(f"unknown field(s) {', '.join(sorted(map(str, set(raw) - {'send'})))}", step=number)
        return "email", {"template": raw["send"]}
    if "delay" in raw and "action" not in raw and "type" not in raw:
        if set(raw) - {"delay"}:
            raise DefinitionError(f"unknown field(s) {', '.join(sorted(map(str, set(raw) - {'delay'})))}", step=number)
        return "delay", {"duration": raw["delay"]}
    marker = "action" if "action" in raw else "type" if "type" in raw else None
    kind = raw.get(marker) if marker else None
    if kind is None:
        raise DefinitionError(
            "missing 'action' (email, delay or condition), or a short form (send:, delay:)", step=number
        )
    if kind not in _STEP_FIELDS:
        raise DefinitionError(f"unknown action '{kind}' (use email, delay or condition)", step=number)
    return str(kind), {key: value for key, value in raw.items() if key != marker}


def _email(template: Any, number: int) -> EmailStep:
    if not isinstance(template, str) or not SLUG_PATTERN.fullmatch(template):
        raise DefinitionError("an email step needs a template id (1-64 characters of a-z 0-9 - _)", step=number)
    return {"type": "email", "template": template}


def _seconds(duration: Any, number: int, *, allow_zero: bool = False) -> int:
    try:
        return parse_duration(duration, allow_zero=allow_zero)
    except ValueError as exc:
        raise DefinitionError(str(exc), step=number) from None


def _condition(fields: dict[str, Any], number: int) -> tuple[ConditionStep, dict[str, Any]]:
    outcomes = {key: fields.pop(key, "continue") for key in ("onTrue", "onFalse")}
    if "condition" in fields or "conditions" in fields:
        if len(fields) != 1:
            raise DefinitionError("give the condition once: condition, conditions, or its fields", step=number)
        key = "condition" if "condition" in fields else "conditions"
        raw = fields[key]
    else:
        key, raw = "", fields
    try:
        condition = parse_conditions(raw, key) if isinstance(raw, list) else parse_condition(raw, key)
    except ConditionError as exc:
        raise DefinitionError(str(exc), step=number) from None
    step: ConditionStep = {"type": "condition", "condition": condition, "onTrue": "continue", "onFalse": "continue"}
    return step, outcomes


def _resolve_jumps(parsed: list[tuple[Step, dict[str, Any]]]) -> list[Step]:
    """Each condition's onTrue/onFalse as exit, continue or the index of the step it names."""
    ids = {step["id"]: index for index, (step, _) in enumerate(parsed) if "id" in step}
    if len(ids) != sum(1 for step, _ in parsed if "id" in step):
        raise DefinitionError("two steps have the same id")
    steps: list[Step] = []
    for number, (step, jumps) in enumerate(parsed, start=1):
        if step["type"] == "condition":
            for key, target in jumps.items():
                step[key] = _target(target, ids, len(parsed), key, number)  # type: ignore[literal-required]
        steps.append(step)
    return steps


def _target(target: Any, ids: dict[str, int], count: int, key: str, number: int) -> Outcome:
    if target in ("exit", "continue"):
        return target  # type: ignore[no-any-return]
    if isinstance(target, int) and not isinstance(target, bool):
        if not 1 <= target <= count:
            raise DefinitionError(f"'{key}' names step {target}, and there are {count} steps", step=number)
        index = target - 1
    elif isinstance(target, str) and target in ids:
        index = ids[target]
    else:
        raise DefinitionError(
            f"'{key}' must be exit, continue, or a step's id or number: no step '{target}'", step=number
        )
    if index == number - 1:
        raise DefinitionError(f"'{key}' jumps to the condition itself", step=number)
    return index


def successors(steps: list[Step], index: int) -> list[int]:
    """The steps that can follow step `index` (len(steps): the end; exits lead nowhere)."""
    step = steps[index]
    if step["type"] != "condition":
        return [index + 1]
    following = []
    for outcome in (step["onTrue"], step["onFalse"]):
        if outcome == "continue":
            following.append(index + 1)
        elif isinstance(outcome, int):
            following.append(outcome)
    return following


def _refuse_loops_without_delay(steps: list[Step]) -> None:
    """A cycle through the steps that passes no delay would send (or evaluate) forever at once."""
    waits = {i for i, step in enumerate(steps) if step["type"] == "delay" or step.get("wait")}
    state: dict[int, int] = {}  # 1: on the current path, 2: done

    def visit(index: int, path: list[int]) -> None:
        if index >= len(steps) or index in waits or state.get(index) == 2:
            return
        if state.get(index) == 1:
            loop = [*path[path.index(index) :], index]
            raise DefinitionError("the steps loop without a delay: " + " → ".join(f"step {i + 1}" for i in loop))
        state[index] = 1
        for following in successors(steps, index):
            visit(following, [*path, index])
        state[index] = 2

    for start in range(len(steps)):
        visit(start, [])

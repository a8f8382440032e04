"""Where an enrolment goes next: pure functions over a version's parsed steps."""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from scheduling.conditions import Condition
from scheduling.definition import EmailStep, Step, successors


@dataclass(frozen=True)
class NextEmail:
    resume_index: int  # first step to look at when it is due (conditions run from here)
    email_index: int  # the email step itself (0-based in steps)
    step: int  # 1-based among the email steps (the `step` of sends and scheduled sends)
    template: str
    due_at: datetime


def next_email(steps: list[Step], start: int, base: datetime) -> NextEmail | None:
    """The next email from `start` on, and when the dispatcher must look again: `base` plus the
    delays before the email, or, when a condition comes first, the delays before the condition
    (a condition is evaluated when the contact reaches it, and may exit or jump; the delays after
    it are waited then). The email planned past a condition is the first one its branches reach,
    the next step's first. None when no email can follow: the enrolment is over."""
    delay = 0
    for index in range(start, len(steps)):
        step = steps[index]
        if step["type"] == "delay":
            delay += step["seconds"]
        elif step["type"] == "email":
            return _planned(steps, start, index, base + timedelta(seconds=delay + step.get("wait", 0)))
        else:
            reachable = _first_email_reachable(steps, index)
            return None if reachable is None else _planned(steps, start, reachable, base + timedelta(seconds=delay))
    return None


def _planned(steps: list[Step], start: int, index: int, due_at: datetime) -> NextEmail:
    step = cast(EmailStep, steps[index])
    return NextEmail(start, index, email_number(steps, index), step["template"], due_at)


def _first_email_reachable(steps: list[Step], index: int) -> int | None:
    """Breadth first through the branches from `index`: the nearest email step, or None."""
    queue, seen = deque([index]), {index}
    while queue:
        current = queue.popleft()
        if current >= len(steps):
            continue
        if steps[current]["type"] == "email":
            return current
        for following in sorted(successors(steps, current), key=lambda i: i != current + 1):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return None


def email_number(steps: list[Step], index: int) -> int:
    return sum(1 for step in steps[: index + 1] if step["type"] == "email")


@dataclass(frozen=True)
class Walk:
    """Where the steps lead when an email is due: `kind` is
    - "email": send the email at `index` (the planned one, or another a jump led to);
    - "wait": past a condition, a delay (or an email that waits first): schedule again from `index`;
    - "exit": the condition at `index` ends the enrolment;
    - "end": the steps ran out: the enrolment is complete."""

    kind: str
    index: int


def walk(steps: list[Step], start: int, holds: Callable[[Condition], bool]) -> Walk:
    """Follows the steps from `start` at due time, evaluating conditions. The delays before the
    first condition were waited already (next_email planned them); any delay after a condition
    is waited anew (the row is scheduled again from it)."""
    index, after_condition = start, False
    for _ in range(len(steps) * 2 + 1):  # a loop without a delay is refused at PUT: this only bounds
        if index >= len(steps):
            return Walk("end", index)
        step = steps[index]
        if step["type"] == "condition":
            outcome = step["onTrue"] if holds(step["condition"]) else step["onFalse"]
            if outcome == "exit":
                return Walk("exit", index)
            index, after_condition = index + 1 if outcome == "continue" else outcome, True
        elif step["type"] == "delay":
            if after_condition:
                return Walk("wait", index)
            index += 1
        else:
            return Walk("wait" if after_condition and step.get("wait") else "email", index)
    return Walk("exit", index)

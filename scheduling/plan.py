"""Where an enrolment goes next: pure functions over a version's parsed steps."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class NextEmail:
    resume_index: int  # first step to look at when it is due (conditions run from here)
    email_index: int  # the email step itself (0-based in steps)
    step: int  # 1-based among the email steps (the `step` of sends and scheduled sends)
    template: str
    due_at: datetime


def next_email(steps: list[dict[str, Any]], start: int, base: datetime) -> NextEmail | None:
    """The next email from `start` on, due at `base` plus the delays before it; None at the end.

    Conditions on the way are not evaluated here: they run when the email is due."""
    delay = 0
    for index in range(start, len(steps)):
        step = steps[index]
        if step["type"] == "delay":
            delay += step["seconds"]
        elif step["type"] == "email":
            return NextEmail(
                resume_index=start,
                email_index=index,
                step=email_number(steps, index),
                template=step["template"],
                due_at=base + timedelta(seconds=delay),
            )
    return None


def email_number(steps: list[dict[str, Any]], index: int) -> int:
    return sum(1 for step in steps[: index + 1] if step["type"] == "email")

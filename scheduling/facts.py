"""What conditions see of an enrolled contact, loaded for many enrolments at once (the dispatcher's
batch, the reactions' batch): the events the conditions ask about and each enrolment's latest
email. One query per kind, through the indexes on events (contact, name, timestamp) and on
sends (enrolment)."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from contacts.models import Contact, Event
from scheduling.conditions import Condition, EventRecord, Facts, comparisons, event_names
from scheduling.models import Enrolment
from sends.models import Send


def conditions_of(enrolment: Enrolment) -> list[Condition]:
    """Every condition the enrolment's version can evaluate (its steps' and its exits)."""
    if enrolment.version is None:
        return []
    steps = [step["condition"] for step in enrolment.version.steps if step["type"] == "condition"]
    return [*steps, *enrolment.version.exit_conditions]


def event_history(*, contact_ids: Iterable[str], names: Iterable[str]) -> dict[str, list[EventRecord]]:
    """The events of these names of these contacts, by contact (one query; none when no names)."""
    history: dict[str, list[EventRecord]] = defaultdict(list)
    names, contact_ids = set(names), set(contact_ids)
    if names and contact_ids:
        found = Event.objects.filter(contact_id__in=contact_ids, name__in=names)
        for contact_id, name, at, send_id in found.values_list("contact_id", "name", "timestamp", "send_id"):
            history[contact_id].append(EventRecord(name, at, send_id))
    return history


class FactsLoader:
    """Loads, for a batch of enrolments, what their conditions need; then builds each one's Facts."""

    def __init__(self, enrolments: Iterable[Enrolment]) -> None:
        enrolments = list(enrolments)
        self.previous_send: dict[str, str] = {}
        names: set[str] = set()
        needs_previous: list[str] = []
        asking: set[str] = set()
        for enrolment in enrolments:
            conditions = conditions_of(enrolment)
            wanted = set().union(*(event_names(condition) for condition in conditions)) if conditions else set()
            if wanted:
                names |= wanted
                asking.add(enrolment.contact_id)
            if any(c.get("send") == "previous" for condition in conditions for c in comparisons(condition)):
                needs_previous.append(enrolment.id)
        self.events = event_history(contact_ids=asking, names=names)
        if needs_previous:
            latest = Send.objects.filter(enrolment_id__in=needs_previous).order_by("enrolment_id", "-id")
            for enrolment_id, send_id in latest.values_list("enrolment_id", "id"):
                self.previous_send.setdefault(str(enrolment_id), send_id)

    def facts(self, enrolment: Enrolment, contact: Contact, now: datetime) -> Facts:
        return Facts(
            email=contact.email,
            properties=contact.properties or {},
            events=self.events.get(contact.id, []),
            since=enrolment.created_at,
            now=now,
            previous_send_id=self.previous_send.get(enrolment.id),
        )

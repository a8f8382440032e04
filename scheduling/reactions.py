"""Scheduling's reactions to the contacts' event log: sequence triggers and exit conditions.

Every event (a custom one from POST /api/events, a system one the engagement pipeline records,
such as `email.clicked`, or `contact.updated` when a contact's properties change) is read here
once, in id order, shortly after it commits:
  1. claim a batch of unread events, `SELECT ... FOR UPDATE SKIP LOCKED` (several dispatchers
     may run; each event is claimed by one);
  2. for each event: the contact's active enrolments whose exit conditions now match end as
     `exited` (their scheduled send is cancelled), naming the condition; then the contact is
     enrolled in every active sequence of its organisation that the event triggers, when the
     trigger's conditions hold for the contact and the event (`enrolment_create`: a contact
     already active in it, or one that may not be mailed, is skipped); a trigger whose
     conditions do not hold is noted on the event (`reaction_notes`, shown in the admin);
  3. mark the batch read, in the same transaction: an event's reactions happen exactly once.
Beat runs this every DISPATCH_INTERVAL_SECONDS, just before the dispatcher (scheduling.tasks),
so a triggered sequence's first email goes out in the same tick. Dependencies point one way:
contacts and sends write events and never call up to scheduling.
"""

import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from contacts.models import Event
from contacts.selectors import events_awaiting_reaction
from contacts.services import events_mark_reacted
from kraiter.errors import Conflict, Unprocessable
from scheduling.conditions import Condition, Facts, condition_holds, describe, event_names, parse_conditions
from scheduling.facts import FactsLoader, event_history
from scheduling.models import Enrolment, Sequence
from scheduling.services import enrolment_create, enrolment_exit, exit_reason, first_exit_condition

logger = logging.getLogger("kraiter.reactions")
DEFAULT_BATCH_SIZE = 500


def react_to_events(*, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Reacts to one batch of new events; returns how many it read (0: none was waiting)."""
    if not events_awaiting_reaction().exists():
        return 0  # idle: one indexed query, no transaction
    with transaction.atomic():
        events = list(events_awaiting_reaction().select_for_update(skip_locked=True, of=("self",))[:batch_size])
        if not events:
            return 0
        notes: dict[str, list[str]] = defaultdict(list)
        _exit_enrolments_that_now_match(events)
        triggered = _sequences_triggered_by(events)
        history = event_history(
            contact_ids={event.contact_id for event in events},
            names=set().union(*(event_names(rule) for rules in triggered.values() for _, rule in rules)),
        )
        for event in events:
            for sequence, rule in triggered.get((event.organisation_id, event.name), []):
                facts = Facts(
                    email=event.contact.email,
                    properties=event.contact.properties or {},
                    events=history.get(event.contact_id, []),
                    trigger_properties=event.properties or {},
                )
                if not condition_holds(rule, facts):
                    notes[event.id].append(
                        f"{sequence.slug}: not enrolled, its trigger's conditions do not hold: {describe(rule)}"
                    )
                    continue
                _enrol_for_event(sequence, event)
        events_mark_reacted(event_ids=[event.id for event in events], notes=notes)
    return len(events)


def react_until_idle(*, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = 100) -> int:
    total = 0
    for _ in range(max_batches):
        read = react_to_events(batch_size=batch_size)
        total += read
        if read < batch_size:
            break
    return total


def _exit_enrolments_that_now_match(events: list[Event]) -> None:
    """Whatever the event is, it may make an enrolled contact match an exit condition."""
    active = list(
        Enrolment.objects.select_related("version", "contact")
        .filter(contact_id__in={event.contact_id for event in events}, status=Enrolment.Status.ACTIVE)
        .exclude(version__exit_conditions=[])
    )
    if not active:
        return
    loader, now = FactsLoader(active), timezone.now()
    for enrolment in active:
        exits = enrolment.version.exit_conditions if enrolment.version else []
        matched = first_exit_condition(exits, loader.facts(enrolment, enrolment.contact, now))
        if matched is not None:
            enrolment_exit(enrolment=enrolment, reason=exit_reason(matched, exits))


def _sequences_triggered_by(events: list[Event]) -> dict[tuple[str, str], list[tuple[Sequence, Condition]]]:
    """(organisation, event name) → the active sequences that name triggers, each with its
    trigger's conditions, in one query."""
    names = {event.name for event in events}
    triggered: dict[tuple[str, str], list[tuple[Sequence, Condition]]] = defaultdict(list)
    active = Sequence.objects.select_related("organisation").filter(
        organisation_id__in={event.organisation_id for event in events}, status=Sequence.Status.ACTIVE
    )
    for sequence in active:
        for trigger in sequence.triggers:
            if trigger["event"] in names:
                rule = parse_conditions(trigger.get("conditions"))  # validated at PUT
                triggered[(sequence.organisation_id, trigger["event"])].append((sequence, rule))
    return triggered


def _enrol_for_event(sequence: Sequence, event: Event) -> None:
    try:
        enrolment_create(sequence=sequence, contact=event.contact, now=event.created_at)
    except (Conflict, Unprocessable) as exc:
        logger.debug("Event %s did not enrol %s in %s: %s", event.id, event.contact_id, sequence.slug, exc.message)

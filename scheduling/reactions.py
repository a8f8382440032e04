"""Scheduling's reactions to the contacts' event log: sequence triggers.

Every event (a custom one from POST /api/events, or a system one the engagement pipeline
records, such as `email.clicked`) is read here once, in id order, shortly after it commits:
  1. claim a batch of unread events, `SELECT ... FOR UPDATE SKIP LOCKED` (several dispatchers
     may run; each event is claimed by one);
  2. for each event, enrol its contact in every active sequence of its organisation that the
     event triggers (`enrolment_create`: a contact already active in it, or one that may not be
     mailed, is skipped);
  3. mark the batch read, in the same transaction: an event's reactions happen exactly once.
Beat runs this every DISPATCH_INTERVAL_SECONDS, just before the dispatcher (scheduling.tasks),
so a triggered sequence's first email goes out in the same tick. Dependencies point one way:
contacts and sends write events and never call up to scheduling.
"""

import logging
from collections import defaultdict

from django.db import transaction

from contacts.models import Event
from contacts.selectors import events_awaiting_reaction
from contacts.services import events_mark_reacted
from kraiter.errors import Conflict, Unprocessable
from scheduling.models import Sequence
from scheduling.services import enrolment_create

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
        triggered = _sequences_triggered_by(events)
        for event in events:
            for sequence in triggered.get((event.organisation_id, event.name), []):
                _enrol_for_event(sequence, event)
        events_mark_reacted(event_ids=[event.id for event in events])
    return len(events)


def react_until_idle(*, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = 100) -> int:
    total = 0
    for _ in range(max_batches):
        read = react_to_events(batch_size=batch_size)
        total += read
        if read < batch_size:
            break
    return total


def _sequences_triggered_by(events: list[Event]) -> dict[tuple[str, str], list[Sequence]]:
    """(organisation, event name) → the active sequences that name triggers, in one query."""
    names = {event.name for event in events}
    triggered: dict[tuple[str, str], list[Sequence]] = defaultdict(list)
    active = Sequence.objects.select_related("organisation").filter(
        organisation_id__in={event.organisation_id for event in events}, status=Sequence.Status.ACTIVE
    )
    for sequence in active:
        for name in set(sequence.triggers) & names:
            triggered[(sequence.organisation_id, name)].append(sequence)
    return triggered


def _enrol_for_event(sequence: Sequence, event: Event) -> None:
    try:
        enrolment_create(sequence=sequence, contact=event.contact, now=event.created_at)
    except (Conflict, Unprocessable) as exc:
        logger.debug("Event %s did not enrol %s in %s: %s", event.id, event.contact_id, sequence.slug, exc.message)

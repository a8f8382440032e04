"""The dispatcher: due scheduled sends become sends, exactly once, however many run at once.

One batch is one transaction:
  1. claim up to `batch_size` due rows, `SELECT ... FOR UPDATE SKIP LOCKED` in scheduledFor order
     (another dispatcher skips them; a row of a paused sequence is held, not claimed);
  2. for each: check the version's exit conditions, follow the steps from where the row resumes
     (conditions evaluated now; a jump may lead to another email, or to a delay: then the row is
     scheduled again from there), render, build the Send;
  3. insert the sends, delete the claimed rows, write each enrolment's next scheduled send;
  4. commit; deliveries are enqueued after the commit.
A dispatcher that dies mid-batch rolls back, and the rows are claimed again by the next one.
A unique constraint on the scheduled send a Send came from makes a second send for a row impossible.
No Celery ETA holds schedule state: it all lives in these rows.

Duplicates: the dispatcher itself has no window that mails anyone twice; it makes at most one
Send per step, committed with the step's removal. A Send can still reach SES twice only through
delivery's own windows (a lost SES answer, a worker lost inside the SES call), and those are
recorded on the send (sends/delivery.py's docstring). The organisation's sending status, the
sequence, the enrolment and the contact are checked again for every row, as they are due.
"""

import gc
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import Contact
from domains.sender import SenderBook
from kraiter.errors import Forbidden, Unprocessable
from kraiter.statements import save_new
from scheduling.conditions import condition_holds
from scheduling.definition import EmailStep, Step
from scheduling.facts import FactsLoader
from scheduling.models import Enrolment, ScheduledSend, Sequence, SequenceVersion
from scheduling.plan import email_number, next_email, walk
from scheduling.services import exit_reason, first_exit_condition, scheduled_send_fields
from sends.models import Send
from sends.services import NewSend, SendOrigin, send_build, send_build_rejected, send_save_many
from templates_app.models import Template

logger = logging.getLogger("kraiter.dispatcher")
DEFAULT_BATCH_SIZE = 500


@dataclass
class _Batch:
    """What one batch will write, gathered before writing it."""

    sends: list[NewSend] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # claimed rows to delete
    held: list[str] = field(default_factory=list)  # rows of sequences that are no longer active
    following: list[ScheduledSend] = field(default_factory=list)
    advanced: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # current step → enrolments
    ended: dict[tuple[str, str, int], list[str]] = field(default_factory=lambda: defaultdict(list))


def dispatch_due_scheduled_sends(
    *, now: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE, probe: bool = True
) -> int:
    """Runs one batch; returns how many rows it claimed (0: nothing was due). When idle, it costs
    one indexed query and no transaction. `probe=False` skips that first query (the claim
    answers it): right after a full batch, when more is likely due and the probe would read
    past the index entries of the rows just deleted (12 ms a batch of 1,000)."""
    now = now or timezone.now()
    due = ScheduledSend.objects.filter(held=False, scheduled_for__lte=now)
    if probe and not due.exists():
        return 0
    with _collector_paused():  # until the batch's objects are gone
        return _dispatch_batch(due, now, batch_size)


def _dispatch_batch(due: QuerySet[ScheduledSend], now: datetime, batch_size: int) -> int:
    with transaction.atomic():
        claim = due.order_by("scheduled_for", "id").select_for_update(skip_locked=True)
        rows = [_Due(*values) for values in claim.values_list(*_Due._fields)[:batch_size]]
        if not rows:
            return 0
        batch = _Batch()
        context = _BatchContext.load(rows)
        for row in rows:
            _dispatch_row(row, context, batch, now)
        _write(batch)
    return len(rows)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector waits until a batch is done: a batch makes some hundred thousand
    objects that live until its end, and the collector, run every 700 new ones, scanned them
    again and again (held off, a batch ran 1.3x as fast: BENCHMARKS.md). They go by reference
    counting when the batch returns; none of them is a cycle that must go sooner, and a batch is
    bounded."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def dispatch_until_idle(
    *, now: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = 100
) -> int:
    """Batches until nothing is due (or `max_batches`); returns the rows claimed."""
    total = 0
    for number in range(max_batches):
        claimed = dispatch_due_scheduled_sends(now=now, batch_size=batch_size, probe=number == 0)
        total += claimed
        if claimed < batch_size:
            break
    return total


class _Due(NamedTuple):
    """A claimed row: what a batch reads of a due scheduled send (a tuple, not a model instance)."""

    id: str
    organisation_id: str
    enrolment_id: str
    sequence_id: int
    contact_id: str
    template_slug: str
    resume_index: int
    email_index: int


# What a batch reads of its enrolments and contacts (no timestamps it does not use: each costs
# Python to parse; tests/scheduling's query count stays flat if one is missed).
_ENROLMENT_FIELDS = ("organisation", "sequence", "version", "contact", "status", "created_at")
_CONTACT_FIELDS = ("organisation", "email", "properties", "unsubscribed", "suppressed", "suppression_reason")


@dataclass
class _BatchContext:
    """Everything the rows of a batch refer to, loaded with one query per kind."""

    sequences: dict[int, Sequence]
    enrolments: dict[str, Enrolment]
    contacts: dict[str, Contact]
    templates: dict[tuple[Any, str], Template]
    facts: FactsLoader
    senders: SenderBook = field(default_factory=SenderBook)  # organisations' senders, looked up once

    @classmethod
    def load(cls, rows: list[_Due]) -> "_BatchContext":
        enrolments = {
            e.id: e for e in Enrolment.objects.filter(pk__any=[r.enrolment_id for r in rows]).only(*_ENROLMENT_FIELDS)
        }
        # Each version once (select_related would build, and parse the steps of, one per enrolment).
        versions = SequenceVersion.objects.in_bulk({e.version_id for e in enrolments.values()} - {None})
        for enrolment in enrolments.values():
            enrolment.version = versions.get(enrolment.version_id)  # type: ignore[arg-type]
        contacts = {
            c.id: c for c in Contact.objects.filter(pk__any={r.contact_id for r in rows}).only(*_CONTACT_FIELDS)
        }
        sequences = {
            s.pk: s
            for s in Sequence.objects.select_related("organisation").filter(pk__in={r.sequence_id for r in rows})
        }
        slugs = {step["template"] for e in enrolments.values() if e.version for step in _emails(e.version.steps)}
        organisations = {r.organisation_id for r in rows}
        templates = {
            (t.organisation_id, t.slug): t
            for t in Template.objects.filter(organisation_id__in=organisations, slug__in=slugs)
        }
        return cls(sequences, enrolments, contacts, templates, FactsLoader(enrolments.values()))


def _dispatch_row(row: _Due, context: _BatchContext, batch: _Batch, now: datetime) -> None:
    sequence = context.sequences[row.sequence_id]
    enrolment = context.enrolments[row.enrolment_id]
    contact = context.contacts[row.contact_id]
    if sequence.status != Sequence.Status.ACTIVE:
        batch.held.append(row.id)  # paused after this row was written: keep it for later
        return
    batch.done.append(row.id)
    if enrolment.status != Enrolment.Status.ACTIVE or enrolment.version is None:
        return
    if not contact.can_receive:
        batch.ended[(enrolment.Status.CANCELLED, "contact opted out", row.email_index + 1)].append(enrolment.id)
        return
    steps, facts = enrolment.version.steps, context.facts.facts(enrolment, contact, now)
    matched = first_exit_condition(enrolment.version.exit_conditions, facts)
    if matched is not None:
        reason = exit_reason(matched, enrolment.version.exit_conditions)
        batch.ended[(Enrolment.Status.EXITED, reason, row.resume_index + 1)].append(enrolment.id)
        return
    where = walk(steps, row.resume_index, lambda condition: condition_holds(condition, facts))
    if where.kind == "exit":
        batch.ended[(Enrolment.Status.EXITED, f"condition at step {where.index + 1}", where.index + 1)].append(
            enrolment.id
        )
        return
    if where.kind == "email":
        batch.sends.append(_build_send(row, where.index, sequence, enrolment, contact, context))
        _schedule_from(where.index + 1, row, enrolment, steps, context, batch, now)
    else:  # "wait" after a jump, or "end"
        _schedule_from(where.index, row, enrolment, steps, context, batch, now)


def _schedule_from(
    start: int,
    row: _Due,
    enrolment: Enrolment,
    steps: list[Step],
    context: _BatchContext,
    batch: _Batch,
    now: datetime,
) -> None:
    upcoming = next_email(steps, start, now)
    if upcoming is None:
        batch.ended[(Enrolment.Status.COMPLETED, "", len(steps))].append(enrolment.id)
        return
    template = context.templates.get((row.organisation_id, upcoming.template))
    batch.following.append(ScheduledSend(**scheduled_send_fields(enrolment, upcoming, template)))
    batch.advanced[upcoming.email_index + 1].append(enrolment.id)


def _build_send(
    row: _Due, index: int, sequence: Sequence, enrolment: Enrolment, contact: Contact, context: _BatchContext
) -> NewSend:
    """The send of the email step at `index` (the one the row planned, unless a jump led elsewhere)."""
    steps = enrolment.version.steps if enrolment.version else []
    slug = steps[index]["template"] if index != row.email_index else row.template_slug
    origin = SendOrigin(
        source=Send.Source.SEQUENCE,
        source_id=sequence.slug,
        step=email_number(steps, index),
        enrolment_id=enrolment.id,
        scheduled_id=row.id,
    )
    template = context.templates.get((row.organisation_id, slug))
    refusal = sequence.organisation.sending_refusal(contact.email)
    if refusal is not None:
        # As for POST /api/send: a paused (or sandboxed) organisation's mail is refused, and the log says so.
        return send_build_rejected(
            organisation=sequence.organisation,
            contact=contact,
            template_slug=slug,
            template_name=template.name if template else slug,
            subject=template.subject if template else "",
            reason=refusal,
            origin=origin,
        )
    if template is None:
        return send_build_rejected(
            organisation=sequence.organisation,
            contact=contact,
            template_slug=slug,
            template_name=slug,
            subject="",
            reason=f"Template '{slug}' was deleted after the contact was enrolled.",
            origin=origin,
        )
    try:
        return send_build(
            organisation=sequence.organisation,
            contact=contact,
            template=template,
            variables={},
            origin=origin,
            senders=context.senders,
        )
    except (Unprocessable, Forbidden) as exc:  # a sandbox limit for this contact; a sender not allowed
        return send_build_rejected(
            organisation=sequence.organisation,
            contact=contact,
            template_slug=template.slug,
            template_name=template.name,
            subject=template.subject,
            reason=exc.message,
            origin=origin,
        )


def _write(batch: _Batch) -> None:
    ScheduledSend.objects.filter(pk__any=batch.done).delete()
    if batch.held:
        ScheduledSend.objects.filter(pk__any=batch.held).update(held=True)
    send_save_many(batch.sends)
    save_new(batch.following)
    now = timezone.now()
    for current_step, enrolment_ids in batch.advanced.items():
        Enrolment.objects.filter(pk__any=enrolment_ids).update(current_step=current_step, updated_at=now)
    for (status, reason, at_step), enrolment_ids in batch.ended.items():
        Enrolment.objects.filter(pk__any=enrolment_ids, status=Enrolment.Status.ACTIVE).update(
            status=status, ended_reason=reason, current_step=at_step, updated_at=now, ended_at=now
        )


def _emails(steps: list[Step]) -> list[EmailStep]:
    return [step for step in steps if step["type"] == "email"]

"""The only writers of sequences, enrolments and scheduled sends (the dispatcher aside)."""

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contact_resolve
from kraiter.api.fields import format_timestamp
from kraiter.errors import Conflict, InvalidInput, Unprocessable
from kraiter.models import Organisation
from scheduling.conditions import Condition, Facts, condition_holds, describe
from scheduling.definition import Definition, DefinitionError, Step, parse_definition
from scheduling.models import Enrolment, ScheduledSend, Sequence, SequenceVersion
from scheduling.plan import NextEmail, next_email
from sends.models import Send
from templates_app.models import Template


def sequence_upsert(
    *, organisation: Organisation, slug: str, name: str, definition: Any, triggers: list[Any] | None = None
) -> tuple[Sequence, bool]:
    """Creates (as draft) or replaces a sequence; (sequence, created). A changed definition is a
    new version: contacts already enrolled finish the version they started. The definition is
    kept as the client sent it (YAML text, or a JSON object), and returned so."""
    as_object = definition if isinstance(definition, dict) else None
    source = definition if isinstance(definition, str) else json.dumps(definition, sort_keys=True)
    try:
        parsed = parse_definition(definition, extra_triggers=triggers)
    except DefinitionError as exc:
        details = {"definition": [str(exc)]}
        raise InvalidInput(f"The sequence definition is invalid: {exc}", details=details) from None
    missing = _missing_templates(organisation, parsed.templates)
    if missing:
        raise InvalidInput(
            f"The definition uses unknown template(s): {', '.join(missing)}.",
            details={"definition": [f"unknown template '{slug}'" for slug in missing]},
        )
    for _attempt in range(2):
        with transaction.atomic():
            sequence = Sequence.objects.select_for_update().filter(organisation=organisation, slug=slug).first()
            if sequence is None:
                try:
                    with transaction.atomic():
                        sequence = Sequence.objects.create(
                            organisation=organisation,
                            slug=slug,
                            name=name,
                            definition=source,
                            definition_json=as_object,
                            triggers=parsed.triggers,
                        )
                except IntegrityError:
                    continue  # created concurrently: replace it instead, as template_upsert does
                _new_version(sequence, parsed)
                return sequence, True
            changed = sequence.definition != source or sequence.triggers != parsed.triggers
            sequence.name, sequence.definition, sequence.triggers = name, source, parsed.triggers
            sequence.definition_json = as_object
            if changed:
                sequence.version += 1
                _new_version(sequence, parsed)
            sequence.save()
            return sequence, False
    raise RuntimeError("sequence upsert kept colliding")  # pragma: no cover - two collisions in a row


def sequence_activate(*, sequence: Sequence) -> Sequence:
    """Starts (or resumes) a sequence; every template it uses must exist."""
    version = sequence_current_version(sequence)
    missing = _missing_templates(sequence.organisation, [s["template"] for s in version.steps if s["type"] == "email"])
    if missing:
        raise Unprocessable(f"Cannot activate: template(s) {', '.join(missing)} no longer exist.")
    return _set_status(sequence, Sequence.Status.ACTIVE)


def sequence_pause(*, sequence: Sequence) -> Sequence:
    """Pauses a sequence: its scheduled sends are kept but not sent until it is activated again.
    New enrolments are refused meanwhile."""
    return _set_status(sequence, Sequence.Status.PAUSED)


def _set_status(sequence: Sequence, status: str) -> Sequence:
    """The status and the `held` flag of its scheduled sends change together, under the
    sequence's row lock, so a pause and an activation cannot interleave."""
    held = status != Sequence.Status.ACTIVE
    with transaction.atomic():
        Sequence.objects.select_for_update().filter(pk=sequence.pk).first()
        Sequence.objects.filter(pk=sequence.pk).update(status=status, updated_at=timezone.now())
        ScheduledSend.objects.filter(sequence=sequence, held=not held).update(held=held)
    sequence.refresh_from_db()
    return sequence


def sequence_delete(*, sequence: Sequence) -> None:
    """Deletes a sequence: its scheduled sends are cancelled and its enrolments end as cancelled."""
    with transaction.atomic():
        ScheduledSend.objects.filter(sequence=sequence).delete()
        Enrolment.objects.filter(sequence=sequence, status=Enrolment.Status.ACTIVE).update(
            status=Enrolment.Status.CANCELLED, ended_reason="sequence deleted", **_ended_now()
        )
        sequence.delete()


def sequence_current_version(sequence: Sequence) -> SequenceVersion:
    return SequenceVersion.objects.get(sequence=sequence, number=sequence.version)


def enrolment_create(*, sequence: Sequence, contact: Contact, now: datetime | None = None) -> Enrolment:
    """Enrols a contact and schedules its first email (due at once when no delay precedes it),
    in one transaction: an enrolment never exists without its next step. Unprocessable unless
    the sequence is active and the contact can receive mail; Conflict when the contact is
    already active in it."""
    if sequence.status != Sequence.Status.ACTIVE:
        raise Unprocessable(f"Sequence '{sequence.slug}' is {sequence.status}; only active sequences take enrolments.")
    if not contact.can_receive:
        raise Unprocessable(f"Contact {contact.id} is suppressed or unsubscribed and cannot be enrolled.")
    version = sequence_current_version(sequence)
    now = now or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                enrolment = Enrolment.objects.create(
                    organisation=sequence.organisation,
                    sequence=sequence,
                    sequence_slug=sequence.slug,
                    version=version,
                    contact=contact,
                )
        except IntegrityError:
            raise Conflict(f"Contact {contact.id} is already active in sequence '{sequence.slug}'.") from None
        enrolment_schedule_next(enrolment=enrolment, steps=version.steps, start=0, base=now)
    return enrolment


def enrolment_create_for(*, sequence: Sequence, contact_id: str | None, email: str | None) -> Enrolment:
    """POST /api/sequences/:id/enrol: the contact (by id, or by address, created when new) and
    its enrolment in one transaction; a refused enrolment leaves no new contact behind."""
    with transaction.atomic():
        contact = contact_resolve(organisation=sequence.organisation, contact_id=contact_id, email=email)
        return enrolment_create(sequence=sequence, contact=contact)


# An active enrolment with nothing scheduled older than this is stuck (only enrolments written
# before enrolling became atomic, or by a bug): the healer schedules its next step.
STUCK_ENROLMENT_GRACE = timedelta(minutes=1)


def enrolments_heal_stuck(*, now: datetime | None = None, limit: int = 500) -> int:
    """Active enrolments with no scheduled send: schedules the step after the last email they
    were sent (or completes them), and records why on the enrolment. Returns how many."""
    now = now or timezone.now()
    stuck = list(
        Enrolment.objects.select_related("version")
        .filter(status=Enrolment.Status.ACTIVE, scheduled_send__isnull=True, updated_at__lt=now - STUCK_ENROLMENT_GRACE)
        .order_by("updated_at")[:limit]
    )
    for enrolment in stuck:
        with transaction.atomic():
            locked = Enrolment.objects.select_for_update().filter(pk=enrolment.pk, status=Enrolment.Status.ACTIVE)
            if locked.first() is None or ScheduledSend.objects.filter(enrolment_id=enrolment.pk).exists():
                continue  # ended or scheduled meanwhile
            if enrolment.version is None:
                enrolment_end(enrolment=enrolment, status=Enrolment.Status.CANCELLED, reason="its sequence is gone")
                continue
            steps = enrolment.version.steps
            start = _index_after_last_email_sent(enrolment, steps)
            Enrolment.objects.filter(pk=enrolment.pk).update(
                notes=f"Healed {format_timestamp(now)}: nothing was scheduled; the step after "
                f"{'the last email sent' if start else 'enrolling'} was scheduled."
            )
            enrolment_schedule_next(enrolment=enrolment, steps=steps, start=start, base=now)
    return len(stuck)


def _index_after_last_email_sent(enrolment: Enrolment, steps: list[Step]) -> int:
    last_step = Send.objects.filter(enrolment_id=enrolment.id).order_by("-id").values_list("step", flat=True).first()
    if not last_step:
        return 0
    emails = [index for index, step in enumerate(steps) if step["type"] == "email"]
    return emails[min(last_step, len(emails)) - 1] + 1


def enrolment_schedule_next(*, enrolment: Enrolment, steps: list[Step], start: int, base: datetime) -> None:
    """Writes the enrolment's next ScheduledSend from step `start` on, or completes it."""
    upcoming = next_email(steps, start, base)
    if upcoming is None:
        enrolment_end(enrolment=enrolment, status=Enrolment.Status.COMPLETED, at_step=len(steps))
        return
    template = Template.objects.filter(organisation_id=enrolment.organisation_id, slug=upcoming.template).first()
    ScheduledSend.objects.create(**scheduled_send_fields(enrolment, upcoming, template))
    Enrolment.objects.filter(pk=enrolment.pk).update(current_step=upcoming.email_index + 1, updated_at=timezone.now())


def scheduled_send_fields(enrolment: Enrolment, upcoming: NextEmail, template: Template | None) -> dict[str, Any]:
    """The ScheduledSend for an enrolment's next email (shared with the dispatcher's bulk insert)."""
    return {
        "organisation_id": enrolment.organisation_id,
        "enrolment_id": enrolment.id,
        "sequence_id": enrolment.sequence_id,
        "contact_id": enrolment.contact_id,
        "template": template,
        "template_slug": upcoming.template,
        "step": upcoming.step,
        "resume_index": upcoming.resume_index,
        "email_index": upcoming.email_index,
        "scheduled_for": upcoming.due_at,
    }


def enrolment_end(*, enrolment: Enrolment, status: str, at_step: int | None = None, reason: str = "") -> None:
    fields: dict[str, Any] = {"status": status, "ended_reason": reason[:200], **_ended_now()}
    if at_step is not None:
        fields["current_step"] = at_step
    Enrolment.objects.filter(pk=enrolment.pk, status=Enrolment.Status.ACTIVE).update(**fields)


def enrolment_exit(*, enrolment: Enrolment, reason: str, status: str = Enrolment.Status.EXITED) -> bool:
    """Ends an active enrolment now (an exit condition matched, or the API took the contact out):
    its pending scheduled send is cancelled with it. False when it had ended already."""
    with transaction.atomic():
        # The scheduled send first, the enrolment second: the order the dispatcher locks them in
        # (the other order deadlocks with a batch that holds this row).
        ScheduledSend.objects.filter(enrolment_id=enrolment.pk).delete()
        ended = Enrolment.objects.filter(pk=enrolment.pk, status=Enrolment.Status.ACTIVE).update(
            status=status, ended_reason=reason[:200], **_ended_now()
        )
        if ended:  # a batch that committed while we waited may have scheduled the next email
            ScheduledSend.objects.filter(enrolment_id=enrolment.pk).delete()
    return bool(ended)


def scheduled_send_cancel(*, scheduled: ScheduledSend, reason: str = "scheduled send cancelled") -> None:
    """Cancels one scheduled email; its enrolment ends as cancelled (no later step is sent)."""
    with transaction.atomic():
        deleted, _ = ScheduledSend.objects.filter(pk=scheduled.pk).delete()
        if deleted:
            Enrolment.objects.filter(pk=scheduled.enrolment_id, status=Enrolment.Status.ACTIVE).update(
                status=Enrolment.Status.CANCELLED, ended_reason=reason[:200], **_ended_now()
            )


def contact_enrolments_cancel(*, contact: Contact, reason: str) -> int:
    """The contact may no longer be mailed: cancel its scheduled sends and active enrolments."""
    ScheduledSend.objects.filter(contact=contact).delete()
    return Enrolment.objects.filter(contact=contact, status=Enrolment.Status.ACTIVE).update(
        status=Enrolment.Status.CANCELLED, ended_reason=reason[:200], **_ended_now()
    )


def templates_used_by_active_sequences(*, organisation: Organisation, slugs: Iterable[str]) -> list[str]:
    """Of these templates, the ones an active sequence's current version sends."""
    wanted, used = set(slugs), set()
    active = Sequence.objects.filter(organisation=organisation, status=Sequence.Status.ACTIVE)
    for sequence in active:
        for step in sequence_current_version(sequence).steps:
            if step["type"] == "email" and step["template"] in wanted:
                used.add(step["template"])
    return sorted(used)


def _new_version(sequence: Sequence, parsed: Definition) -> None:
    SequenceVersion.objects.create(
        sequence=sequence, number=sequence.version, steps=parsed.steps, exit_conditions=parsed.exit_conditions
    )


def first_exit_condition(exits: list[Condition], facts: Facts) -> int | None:
    """The index of the first exit condition the contact matches, or None."""
    return next((index for index, condition in enumerate(exits) if condition_holds(condition, facts)), None)


def exit_reason(index: int, exits: list[Condition] | None = None) -> str:
    text = f"exit condition {index + 1}"
    return f"{text}: {describe(exits[index])}"[:200] if exits else text


def _missing_templates(organisation: Organisation, slugs: Iterable[str]) -> list[str]:
    wanted = set(slugs)
    existing = set(Template.objects.filter(organisation=organisation, slug__in=wanted).values_list("slug", flat=True))
    return sorted(wanted - existing)


def _ended_now() -> dict[str, datetime]:
    now = timezone.now()
    return {"ended_at": now, "updated_at": now}

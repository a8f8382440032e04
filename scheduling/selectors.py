from django.db.models import QuerySet

from kraiter.api.fields import require_slug
from kraiter.api.ids import require_id
from kraiter.api.pagination import of_organisation
from kraiter.errors import NotFound
from kraiter.models import Organisation
from scheduling.models import Enrolment, ScheduledSend, Sequence


def sequence_list(*, organisation: Organisation) -> QuerySet[Sequence]:
    return of_organisation(Sequence.objects.all(), organisation)


def require_sequence_id(sequence_id: str) -> str:
    return require_slug(sequence_id, "sequence")


def sequence_get(*, organisation: Organisation, sequence_id: str) -> Sequence:
    require_sequence_id(sequence_id)
    sequence = Sequence.objects.select_related("organisation").filter(organisation=organisation, slug=sequence_id)
    found = sequence.first()
    if found is None:
        raise NotFound(f"No sequence '{sequence_id}'.")
    return found


def scheduled_send_list(*, organisation: Organisation) -> QuerySet[ScheduledSend]:
    return of_organisation(ScheduledSend.objects.all(), organisation).select_related("contact", "template", "sequence")


def scheduled_send_get(*, organisation: Organisation, scheduled_id: str) -> ScheduledSend:
    require_id(scheduled_id, "sch")
    scheduled = scheduled_send_list(organisation=organisation).filter(pk=scheduled_id).first()
    if scheduled is None:
        raise NotFound(f"No scheduled send {scheduled_id} (it may have been sent or cancelled).")
    return scheduled


def enrolment_list(*, organisation: Organisation) -> QuerySet[Enrolment]:
    return of_organisation(Enrolment.objects.all(), organisation).select_related("contact", "version")


def enrolment_get(*, organisation: Organisation, sequence: Sequence, enrolment_id: str) -> Enrolment:
    require_id(enrolment_id, "enr")
    enrolment = enrolment_list(organisation=organisation).filter(sequence=sequence, pk=enrolment_id).first()
    if enrolment is None:
        raise NotFound(f"No enrolment {enrolment_id} in sequence '{sequence.slug}'.")
    return enrolment

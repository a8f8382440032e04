"""An enrolment and its first step are written together or not at all, and one left with
nothing scheduled (written before that held) is healed."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError

from contacts.models import Contact
from scheduling.models import Enrolment, ScheduledSend, Sequence
from scheduling.services import enrolments_heal_stuck
from sends.models import Send
from tests.factories import ContactFactory, SendFactory

pytestmark = pytest.mark.usefixtures("templates")


def test_a_fault_between_the_enrolments_two_writes_leaves_nothing_and_the_retry_enrols(api, onboarding):
    contact = ContactFactory(organisation=api.organisation)
    # given the first scheduled send cannot be written (the connection is lost after the enrolment's insert)
    with mock.patch.object(ScheduledSend.objects, "create", side_effect=OperationalError("connection lost")):
        first = api.post("/api/sequences/onboarding/enrol", {"contactId": contact.id})
    # then the request fails as a whole: no enrolment is left behind
    assert first.status_code == 500 and first.json()["error"]["code"] == "INTERNAL_ERROR"
    assert not Enrolment.objects.filter(contact=contact).exists()
    # and the client's retry enrols the contact, with its first email scheduled
    retry = api.post("/api/sequences/onboarding/enrol", {"contactId": contact.id})
    assert retry.status_code == 201
    assert ScheduledSend.objects.filter(enrolment_id=retry.json()["id"], step=1).count() == 1


def test_a_refused_enrolment_creates_no_contact(api, templates):
    api.put("/api/sequences/draft", {"id": "draft", "name": "Draft", "definition": "steps:\n  - send: welcome-email"})
    response = api.post("/api/sequences/draft/enrol", {"email": "new@example.com"})
    assert response.status_code == 422
    assert not Contact.objects.filter(email="new@example.com").exists()


def _stuck(sequence: Sequence, *, sent_steps: int = 0, minutes_ago: int = 10) -> Enrolment:
    """An active enrolment with nothing scheduled, as the non-atomic enrol used to leave one."""
    contact = ContactFactory(organisation=sequence.organisation)
    enrolment = Enrolment.objects.create(
        organisation=sequence.organisation,
        sequence=sequence,
        sequence_slug=sequence.slug,
        version=sequence.versions.get(number=sequence.version),
        contact=contact,
    )
    for step in range(1, sent_steps + 1):
        SendFactory(organisation=sequence.organisation, contact=contact, enrolment_id=enrolment.id, step=step,
                    source="sequence", source_id=sequence.slug, status="sent")  # fmt: skip
    Enrolment.objects.filter(pk=enrolment.pk).update(updated_at=enrolment.updated_at - timedelta(minutes=minutes_ago))
    return enrolment


def test_stuck_enrolments_get_the_step_after_their_last_email_or_complete(api, onboarding, clock):
    sequence = Sequence.objects.get(slug="onboarding")
    fresh, after_first, finished = (_stuck(sequence, sent_steps=n) for n in (0, 1, 3))
    just_now = _stuck(sequence, minutes_ago=0)  # maybe mid-enrolment: left alone for now
    healed = enrolments_heal_stuck()
    assert healed == 3
    assert ScheduledSend.objects.get(enrolment=fresh).step == 1
    second = ScheduledSend.objects.get(enrolment=after_first)
    assert second.step == 2 and second.template_slug == "getting-started"
    assert not ScheduledSend.objects.filter(enrolment__in=[finished, just_now]).exists()
    for enrolment in (fresh, after_first, finished):
        enrolment.refresh_from_db()
    assert fresh.status == after_first.status == "active"
    assert "Healed" in fresh.notes and "nothing was scheduled" in after_first.notes
    assert finished.status == "completed"
    assert enrolments_heal_stuck() == 0  # nothing stuck any more (just_now is still in its grace)
    assert not Send.objects.filter(enrolment_id=fresh.id).exists()  # healing schedules, it does not send


def test_the_healer_runs_on_beats_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["heal-stuck-enrolments"]
    assert entry["task"] == "scheduling.tasks.heal_stuck_enrolments" and entry["schedule"] <= 60

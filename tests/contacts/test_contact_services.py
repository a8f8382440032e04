"""contacts.services under concurrency (PostgreSQL: real parallel transactions)."""

import pytest

from contacts.models import Contact
from contacts.services import contact_get_or_create
from tests.conftest import run_concurrently


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_get_or_create_makes_one_contact(organisation):
    results: list[str] = []

    def worker(index: int) -> None:
        contact, _ = contact_get_or_create(organisation=organisation, email="Race@Example.com")
        results.append(contact.id)

    run_concurrently(worker, 8)
    assert len(results) == 8 and len(set(results)) == 1
    assert Contact.objects.filter(organisation=organisation).count() == 1


def test_get_or_create_finds_the_contact_whatever_the_case(organisation):
    first, created = contact_get_or_create(organisation=organisation, email="Mixed@Example.com")
    again, created_again = contact_get_or_create(organisation=organisation, email="mixed@EXAMPLE.com")
    assert created and not created_again and first.id == again.id


def test_purge_events_deletes_only_what_is_older_in_batches_and_has_a_dry_run(organisation):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from contacts.models import Event
    from contacts.services import event_create
    from tests.factories import ContactFactory

    contact = ContactFactory(organisation=organisation)
    now = timezone.now()
    for days in (400, 380, 370, 10):
        event_create(organisation=organisation, contact=contact, name="visit", timestamp=now - timedelta(days=days))
    out = StringIO()
    call_command("purge_events", "--older-than", "365d", "--dry-run", stdout=out, stderr=StringIO())
    assert "Would delete 3 event(s)" in out.getvalue() and Event.objects.count() == 4
    call_command("purge_events", "--older-than", "365d", "--batch-size", "2", stdout=out, stderr=StringIO())
    assert list(Event.objects.values_list("timestamp", flat=True)) == [now - timedelta(days=10)]

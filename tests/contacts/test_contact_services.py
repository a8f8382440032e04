"""contacts.services under concurrency (PostgreSQL: real parallel transactions)."""

import threading

import pytest
from django.db import connection

from contacts.models import Contact
from contacts.services import contact_get_or_create


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_get_or_create_makes_one_contact(organisation):
    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            contact, _ = contact_get_or_create(organisation=organisation, email="Race@Example.com")
            results.append(contact.id)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert Contact.objects.filter(organisation=organisation).count() == 1


def test_get_or_create_finds_the_contact_whatever_the_case(organisation):
    first, created = contact_get_or_create(organisation=organisation, email="Mixed@Example.com")
    again, created_again = contact_get_or_create(organisation=organisation, email="mixed@EXAMPLE.com")
    assert created and not created_again and first.id == again.id

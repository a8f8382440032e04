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

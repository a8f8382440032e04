"""kraiter.statements (several writes in one round trip) and the fast id and time conversions
the hot paths use (issue 13): each gives exactly what it replaced."""

import os
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import DatabaseError, connection
from ulid import ULID

from contacts.models import Contact, Event
from kraiter.api.fields import format_timestamp
from kraiter.api.ids import new_id, uuid_to_id
from kraiter.statements import Statements, insert_statement, update_statement
from scheduling.timeline import _id_time
from tests.factories import ContactFactory


def test_uuid_to_id_is_the_ulid_of_the_uuid():
    values = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID(int=2**127), uuid.UUID(int=1)]
    values += [uuid.UUID(bytes=os.urandom(16)) for _ in range(20_000)]
    for value in values:
        assert uuid_to_id(value, "snd") == f"snd_{ULID.from_uuid(value)}"


def test_a_sends_time_is_read_from_its_id_as_the_ulid_library_reads_it():
    for _ in range(5_000):
        moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(milliseconds=random.randrange(10**12))
        send_id = new_id("snd", moment)
        assert _id_time(send_id) == ULID.from_str(send_id[4:]).datetime.astimezone(UTC)


def test_timestamps_are_formatted_as_before():
    def before(value):
        value = value.astimezone(UTC)
        return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"

    assert format_timestamp(datetime(999, 3, 4, 5, 6, 7, 8999, tzinfo=UTC)) == "0999-03-04T05:06:07.008Z"
    for _ in range(5_000):
        moment = datetime(1000, 1, 1, tzinfo=UTC) + timedelta(microseconds=random.randrange(3 * 10**16))
        moment = moment.astimezone(timezone(timedelta(minutes=random.randrange(-720, 720, 15))))
        assert format_timestamp(moment) == before(moment)


def test_statements_run_together_in_order(organisation, query_count):
    contact = ContactFactory(organisation=organisation)
    statements = Statements()
    event = Event(organisation=organisation, contact=contact, name="a", timestamp=datetime(2026, 1, 1, tzinfo=UTC))
    statements.add(*insert_statement(event))
    statements.add(*update_statement(Event, event.pk, {"name": "b", "properties": {"x": [1, "y"]}}))
    statements.add("SELECT 1", once="one")
    statements.add("SELECT 2", once="one")  # the same key: left out
    assert len(statements) == 3
    with query_count() as queries:
        statements.run()
    assert len(queries) == (1 if connection.vendor == "postgresql" else 3)
    assert len(statements) == 0
    stored = Event.objects.get()
    assert (stored.pk, stored.name, stored.properties, stored.send_id) == (event.pk, "b", {"x": [1, "y"]}, None)
    assert stored.created_at is not None and stored.reaction_notes == []
    statements.run()  # nothing queued: no query


def test_a_failing_statement_raises_and_its_transaction_rolls_back(organisation):
    from django.db import transaction

    contact = ContactFactory(organisation=organisation)
    statements = Statements()
    statements.add(*update_statement(Contact, contact.pk, {"email": "changed@example.com"}))
    statements.add("SELECT * FROM no_such_table")
    with pytest.raises(DatabaseError), transaction.atomic():
        statements.run()
    contact.refresh_from_db()
    assert contact.email != "changed@example.com"


@pytest.mark.postgres  # BEGIN rides on a query string only with psycopg's client-side binding
@pytest.mark.django_db(transaction=True)
def test_a_string_refused_before_its_begin_ran_leaves_the_block_in_a_transaction(organisation):
    """The first statement of a block carries its BEGIN; when PostgreSQL refuses the whole string
    (a syntax error: nothing in it ran, BEGIN included), what the block does next is still in
    its transaction, and rolls back with it."""
    from django.db import ProgrammingError, transaction

    from kraiter.statements import first_rows

    class Rollback(Exception):
        pass

    def block() -> None:
        with transaction.atomic():
            with pytest.raises(ProgrammingError):
                first_rows(("SELEC 1", []))
            ContactFactory(organisation=organisation, email="inside@example.com")
            raise Rollback

    with pytest.raises(Rollback):
        block()
    assert not Contact.objects.filter(email="inside@example.com").exists()
    assert connection.get_autocommit() and connection.connection.autocommit

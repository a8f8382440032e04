"""kraiter.rows.save_new: the hot paths' bulk INSERT (the dispatcher's sends, contents and next
scheduled sends; the send service's send and content) writes what bulk_create writes; on
PostgreSQL many rows are one statement of one array per column (issue 17)."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from kraiter.rows import insert_sql
from kraiter.statements import save_new
from tests.factories import OrganisationFactory

# Values an array literal must quote or escape, and JSON of every shape.
AWKWARD = ["NULL", "", 'say "hi"', "back\\slash", "{braces}", "a,b", " padded ", "ünïcödé ✉", "new\nline"]


def contacts(organisation, count: int) -> list[Contact]:
    return [
        Contact(
            organisation=organisation,
            email=f"{AWKWARD[n % len(AWKWARD)]}-{n}@example.com",
            properties=[{}, {"plan": "pro", "n": n, "tags": ["a", None, 1.5]}, {"quote": '"', "nested": {"x": []}}][
                n % 3
            ],
            unsubscribed=n % 2 == 0,
            unsubscribed_at=datetime(2026, 1, 1, 12, n % 60, tzinfo=UTC) if n % 2 == 0 else None,
            suppression_reason=None if n % 4 else "bounced",
        )
        for n in range(count)
    ]


def written(contact: Contact) -> tuple:
    return (
        contact.id,
        contact.organisation_id,
        contact.email,
        contact.properties,
        contact.unsubscribed,
        contact.unsubscribed_at,
        contact.suppression_reason,
        contact.created_at,
    )


@pytest.mark.django_db
def test_many_rows_are_written_as_bulk_create_writes_them():
    organisation = OrganisationFactory()
    ours, theirs = contacts(organisation, 300), contacts(OrganisationFactory(), 300)
    save_new(ours)
    Contact.objects.bulk_create(theirs)
    assert all(not contact._state.adding for contact in ours)
    stored = {c.id: c for c in Contact.objects.filter(organisation=organisation)}
    assert [written(stored[c.id]) for c in ours] == [written(c) for c in ours]
    # the same values as bulk_create stores, column by column (ids and organisation aside)
    assert [written(c)[2:7] for c in ours] == [written(c)[2:7] for c in theirs]
    fresh = {c.id: c for c in Contact.objects.filter(organisation=theirs[0].organisation)}
    assert [written(fresh[c.id])[2:7] for c in theirs] == [written(c)[2:7] for c in ours]


@pytest.mark.postgres
@pytest.mark.django_db
def test_many_rows_are_one_statement_with_one_parameter_per_column():
    columns = len(Contact._meta.local_concrete_fields)
    texts = set()
    for count in (2, 1000):
        sql, params = insert_sql(contacts(OrganisationFactory(), count), connection)
        assert sql.count("%s") == len(params) == columns and all(len(column) == count for column in params)
        texts.add(sql)
        rows = contacts(OrganisationFactory(), count)
        with CaptureQueriesContext(connection) as queries:
            save_new(rows)
        assert len(queries) == 1
    assert len(texts) == 1  # the same statement whatever the rows: composed once, from psycopg's cache


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_value_too_long_for_its_column_fails_the_whole_insert():
    """A varchar(n) column's values travel as text[]: a cast to varchar(n)[] would cut a long
    value short without a word."""
    organisation = OrganisationFactory()
    rows = contacts(organisation, 3)
    rows[1].suppression_reason = "x" * 17  # max_length=16
    with pytest.raises(DataError), transaction.atomic():
        save_new(rows)
    assert not Contact.objects.filter(organisation=organisation).exists()

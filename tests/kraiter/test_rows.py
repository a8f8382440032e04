"""kraiter.statements.save_new: the hot paths' bulk INSERT (the dispatcher's sends, contents and
next scheduled sends; the send service's send and content) writes what bulk_create writes; on
PostgreSQL many rows are one COPY per model, a single row one INSERT (issue 17)."""

from datetime import UTC, datetime
from unittest import mock

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from kraiter.statements import save_new
from tests.factories import OrganisationFactory

# Values COPY (and an INSERT) must quote or escape, and JSON of every shape.
AWKWARD = [
    "NULL",
    "\\N",
    "",
    'say "hi"',
    "back\\slash",
    "{braces}",
    "a,b",
    " padded ",
    "ünïcödé ✉",
    "new\nline",
    "tab\t",
]


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


class Copies:
    """The COPY statements psycopg runs (Django's query log does not show them)."""

    def __enter__(self) -> list[str]:
        self.statements: list[str] = []
        real = psycopg.Cursor.copy

        def copy(cursor, statement, *args, **kwargs):
            self.statements.append(str(statement))
            return real(cursor, statement, *args, **kwargs)

        self._patch = mock.patch.object(psycopg.Cursor, "copy", copy)
        self._patch.start()
        return self.statements

    def __exit__(self, *exc) -> None:
        self._patch.stop()


@pytest.mark.postgres
@pytest.mark.django_db
def test_many_rows_are_one_copy_per_model_and_a_single_row_one_insert():
    for count in (4, 1000):
        organisation = OrganisationFactory()
        rows = contacts(organisation, count)
        with Copies() as copies, CaptureQueriesContext(connection) as queries:
            save_new(rows[: count // 2], rows[count // 2 :])
        assert [copy.split(" (")[0] for copy in copies] == ['COPY "contacts_contact"'] * 2 and not queries
        assert Contact.objects.filter(organisation=organisation).count() == count
    rows = contacts(OrganisationFactory(), 2)
    with Copies() as copies, CaptureQueriesContext(connection) as queries:
        save_new(rows[:1], [], rows[1:])
    assert not copies and len(queries) == 1 and queries[0]["sql"].startswith("WITH i0 AS (INSERT")
    assert Contact.objects.filter(organisation=rows[0].organisation).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_bad_id_is_refused_as_django_refuses_it():
    rows = contacts(OrganisationFactory(), 2)
    rows[1].organisation_id = "org_not-an-id"
    with pytest.raises(ValidationError, match="not a valid organisation id"):
        save_new(rows)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_value_too_long_for_its_column_fails_the_whole_insert():
    """Whether the rows go as one COPY or as one INSERT: nothing is cut short without a word,
    and the error is Django's."""
    organisation = OrganisationFactory()
    for count in (1, 3):
        rows = contacts(organisation, count)
        rows[-1].suppression_reason = "x" * 17  # max_length=16
        with pytest.raises(DataError), transaction.atomic():
            save_new(rows)
    assert not Contact.objects.filter(organisation=organisation).exists()


@pytest.mark.django_db
def test_pk_any_finds_those_rows_in_one_parameter_and_refuses_a_malformed_id():
    rows = contacts(OrganisationFactory(), 5)
    save_new(rows)
    wanted = {rows[0].id, rows[3].id}
    assert set(Contact.objects.filter(pk__any=wanted).values_list("id", flat=True)) == wanted
    assert not Contact.objects.filter(pk__any=[]).exists()
    with pytest.raises(ValidationError, match="not a valid contact id"):
        list(Contact.objects.filter(pk__any=["cnt_not-an-id"]))
    with CaptureQueriesContext(connection) as queries:
        assert len(Contact.objects.filter(pk__any=[row.id for row in rows])) == 5
    if connection.vendor == "postgresql":  # one array literal, however many ids
        assert "= ANY(" in queries[0]["sql"] and " IN (" not in queries[0]["sql"]

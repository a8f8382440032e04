"""Reads of contacts that other apps may use."""

from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import Lower

from contacts.models import Contact, Event, OptedOutAddress
from kraiter.api.ids import get_by_id, require_id
from kraiter.api.pagination import of_organisation
from kraiter.emails import email_lookup_key, normalise_email
from kraiter.errors import InvalidInput, NotFound
from kraiter.models import Organisation
from kraiter.rows import Columns
from kraiter.statements import first_rows


def contact_get(*, organisation: Organisation, contact_id: str) -> Contact:
    """The organisation's contact with this id, or with this address (every /api/contacts/:id
    route takes either, as Kraiter's SDK does); NotFound otherwise (also for another
    organisation's)."""
    if "@" in contact_id:
        contact = contact_find_by_email(organisation=organisation, email=_address(contact_id))
        if contact is None:
            raise NotFound(f"No contact with the email {contact_id}.")
        return contact
    require_id(contact_id, "cnt")
    found = Contact.objects.filter(organisation=organisation, pk=contact_id).first()
    if found is None:
        raise NotFound(f"No contact {contact_id}.")
    return found


def _address(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidInput:
        raise InvalidInput(f"'{value[:100]}' is neither a contact id (cnt_...) nor a valid email address.") from None


_CONTACT = Columns(Contact, "c")


def contact_find_by_email(*, organisation: Organisation | str, email: str) -> Contact | None:
    """Case-insensitive, through the unique index on LOWER(email). On PostgreSQL as hand-written
    SQL: POST /api/send looks its contact up on every request (kraiter.rows)."""
    if connection.vendor == "postgresql":
        organisation_id = organisation if isinstance(organisation, str) else organisation.pk
        row = first_rows(  # (the first statement of the send service's transaction: BEGIN rides along)
            (
                f'SELECT {_CONTACT.sql()} FROM "{Contact._meta.db_table}" c '  # noqa: S608
                "WHERE c.organisation_id = %s AND lower(c.email) = %s LIMIT 1",
                [Organisation._meta.pk.get_db_prep_value(organisation_id, connection), email_lookup_key(email)],
            )
        )[0]
        return None if row is None else _CONTACT.read(row, 0, connection)
    return (
        Contact.objects.alias(email_key=Lower("email"))
        .filter(organisation=organisation, email_key=email_lookup_key(email))
        .first()
    )


def contact_list(*, organisation: Organisation) -> QuerySet[Contact]:
    return of_organisation(Contact.objects.all(), organisation)


def address_is_unsubscribed(*, organisation: Organisation, email: str) -> bool:
    """Whether mail to this address is opted out: its contact unsubscribed, or the address remembered."""
    contact = contact_find_by_email(organisation=organisation, email=email)
    if contact is not None:
        return contact.unsubscribed
    return OptedOutAddress.objects.filter(organisation=organisation, email_key=email_lookup_key(email)).exists()


def events_awaiting_reaction() -> QuerySet[Event]:
    """Events the higher layers have not reacted to yet, oldest first (scheduling.reactions)."""
    return Event.objects.select_related("contact").filter(reacted_at__isnull=True).order_by("id")


def event_list(*, organisation: Organisation) -> QuerySet[Event]:
    return of_organisation(Event.objects.all(), organisation, as_range=True)


def event_get(*, organisation: Organisation, event_id: str) -> Event:
    return get_by_id(Event.objects.filter(organisation=organisation), event_id, "evt")

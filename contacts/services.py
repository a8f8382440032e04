"""The only writers of contacts and events."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.models import CONTACT_UPDATED, RESERVED_EVENT_PREFIXES, Contact, Event, OptedOutAddress
from contacts.selectors import contact_find_by_email, contact_get
from contacts.signals import contact_opted_out
from kraiter.emails import email_lookup_key, normalise_email
from kraiter.errors import Conflict, InvalidInput
from kraiter.models import Organisation
from kraiter.rows import insert_many
from kraiter.statements import Statements, insert_statement


def contact_create(*, organisation: Organisation, email: str, properties: Mapping[str, Any] | None = None) -> Contact:
    """A new contact; Conflict when the organisation already has this address (in any case)."""
    email = normalise_email(email)
    try:
        with transaction.atomic():
            return _insert_contact(organisation, email, properties)
    except IntegrityError:
        raise Conflict(f"A contact with the email {email} already exists.") from None


def _insert_contact(organisation: Organisation, email: str, properties: Mapping[str, Any] | None = None) -> Contact:
    """Every new contact comes through here (imports apply the same rule in bulk): an address
    that opted out before it had a contact starts unsubscribed."""
    [contact] = contacts_new(organisation=organisation, emails_and_properties=[(email, dict(properties or {}))])
    if connection.vendor == "postgresql":
        insert_many([[contact]], connection)  # the INSERT save() makes, by hand (kraiter.rows)
    else:
        contact.save(force_insert=True)
    return contact


def contacts_new(
    *, organisation: Organisation, emails_and_properties: list[tuple[str, dict[str, Any]]]
) -> list[Contact]:
    """Unsaved contacts for these (normalised) addresses, unsubscribed where the address opted
    out while it had no contact; those opt-outs are consumed (call it in the inserting transaction)."""
    keys = [email_lookup_key(email) for email, _ in emails_and_properties]
    since = _opt_outs_consumed(organisation, keys)
    return [
        Contact(
            organisation=organisation,
            email=email,
            properties=properties,
            unsubscribed=key in since,
            unsubscribed_at=since.get(key),
        )
        for (email, properties), key in zip(emails_and_properties, keys, strict=True)
    ]


def _opt_outs_consumed(organisation: Organisation, keys: list[str]) -> dict[str, Any]:
    """Deletes the remembered opt-outs of these address keys; returns when each had opted out."""
    if connection.vendor != "postgresql":
        opted_out = OptedOutAddress.objects.filter(organisation=organisation, email_key__in=keys)
        since = dict(opted_out.values_list("email_key", "unsubscribed_at"))
        if since:
            opted_out.delete()
        return since
    # One statement instead of a read and a delete (POST /api/send creates a contact per new address).
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{OptedOutAddress._meta.db_table}" WHERE organisation_id = %s AND email_key = ANY(%s) '  # noqa: S608
            "RETURNING email_key, unsubscribed_at",
            [Organisation._meta.pk.get_db_prep_value(organisation.pk, connection), keys],
        )
        return dict(cursor.fetchall())


def contact_get_or_create(*, organisation: Organisation, email: str) -> tuple[Contact, bool]:
    """The contact with this address, created when absent; safe when two requests race."""
    email = normalise_email(email)
    contact = contact_find_by_email(organisation=organisation, email=email)
    if contact is not None:
        return contact, False
    try:
        with transaction.atomic():
            return _insert_contact(organisation, email), True
    except IntegrityError:
        # Another request created it between our read and our insert: theirs is the contact.
        contact = contact_find_by_email(organisation=organisation, email=email)
        if contact is None:
            raise
        return contact, False


def contact_resolve(*, organisation: Organisation, contact_id: str | None = None, email: str | None = None) -> Contact:
    """The contact a request names, by id (NotFound when absent) or by address (created when
    absent). Call it inside the transaction of what the request does with the contact, so a
    refusal later in that transaction does not leave a new contact behind."""
    if contact_id is not None:
        contact = contact_get(organisation=organisation, contact_id=contact_id)
        if email is not None and email_lookup_key(normalise_email(email)) != email_lookup_key(contact.email):
            raise InvalidInput(
                f"Contact {contact_id} has another address than {email}; give one of contactId or email.",
                details={"email": ["Does not match contactId."]},
            )
        return contact
    if email is None:
        raise ValueError("contact_resolve needs a contact id or an email address")
    return contact_get_or_create(organisation=organisation, email=email)[0]


def contact_update(
    *,
    contact: Contact,
    properties: Mapping[str, Any] | None = None,
    unsubscribed: bool | None = None,
    suppressed: bool | None = None,
) -> Contact:
    """PATCH semantics: properties merge key by key (a None value removes the key);
    `unsubscribed`/`suppressed` opt the contact out or back in, with their consequences."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if properties:
            merged = dict(contact.properties)
            for key, value in properties.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            changed = sorted(
                key for key in set(merged) | set(contact.properties) if merged.get(key) != contact.properties.get(key)
            )
            contact.properties = merged
            contact.save(update_fields=["properties", "updated_at"])
            if changed:
                # On the contact's timeline, and read by the reactions (a sequence's exit conditions).
                Event.objects.create(
                    organisation_id=contact.organisation_id,
                    contact=contact,
                    name=CONTACT_UPDATED,
                    properties={"changed": changed},
                    timestamp=timezone.now(),
                )
        if unsubscribed is True:
            contact = contact_unsubscribe(contact=contact)
        elif unsubscribed is False:
            contact = contact_resubscribe(contact=contact)
        if suppressed is True:
            contact = contact_suppress(contact=contact, reason=Contact.SuppressionReason.MANUAL)
        elif suppressed is False:
            contact = contact_unsuppress(contact=contact)
    return contact


def contact_unsubscribe(*, contact: Contact, at: datetime | None = None) -> Contact:
    """The contact's own opt-out; cancels their scheduled sends. Repeating it changes nothing."""
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, unsubscribed=False).update(
            unsubscribed=True, unsubscribed_at=at or timezone.now(), updated_at=timezone.now()
        )
        contact.refresh_from_db()
        if changed:
            contact_opted_out.send(sender=Contact, contact=contact, reason="unsubscribed")
    return contact


def contact_unsubscribe_address(
    *, organisation: Organisation | str, email: str, at: datetime | None = None
) -> Contact | None:
    """An unsubscribe link acts on the address it was sent to: the organisation's contact with
    that address now (whichever contact the email was sent to), or, when there is none, the
    address is remembered so that a contact created for it later starts unsubscribed. Returns
    the contact when this unsubscribed it (None when it already was, or there is none)."""
    at = at or timezone.now()
    organisation_id = organisation if isinstance(organisation, str) else organisation.pk
    with transaction.atomic():
        contact = contact_find_by_email(organisation=organisation_id, email=email)
        if contact is None:
            OptedOutAddress.objects.get_or_create(
                organisation_id=organisation_id, email_key=email_lookup_key(email), defaults={"unsubscribed_at": at}
            )
            return None
        if contact.unsubscribed:
            return None
        return contact_unsubscribe(contact=contact, at=at)


def contact_resubscribe(*, contact: Contact) -> Contact:
    Contact.objects.filter(pk=contact.pk, unsubscribed=True).update(
        unsubscribed=False, unsubscribed_at=None, updated_at=timezone.now()
    )
    contact.refresh_from_db()
    return contact


def contact_suppress(*, contact: Contact, reason: str) -> Contact:
    """Stops all mail to the contact (hard bounce, complaint, or by hand); cancels scheduled sends.

    An existing suppression keeps its first reason."""
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, suppressed=False).update(
            suppressed=True, suppression_reason=reason, suppressed_at=timezone.now(), updated_at=timezone.now()
        )
        contact.refresh_from_db()
        if changed:
            contact_opted_out.send(sender=Contact, contact=contact, reason=reason)
    return contact


def contact_unsuppress(*, contact: Contact) -> Contact:
    Contact.objects.filter(pk=contact.pk, suppressed=True).update(
        suppressed=False, suppression_reason=None, suppressed_at=None, updated_at=timezone.now()
    )
    contact.refresh_from_db()
    return contact


def contact_delete(*, contact: Contact) -> None:
    """Deletes the contact and what hangs off it; its sends stay in the log (they keep the id)."""
    contact.delete()


def event_create(
    *,
    organisation: Organisation,
    contact: Contact,
    name: str,
    properties: Mapping[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """Records a custom event (POST /api/events). The sequences it triggers react to it shortly
    after it commits (scheduling.reactions reads every new event). `email.*` names are the
    system's own (event_record_system) and are refused."""
    if name.startswith(RESERVED_EVENT_PREFIXES):
        raise InvalidInput(
            f"Event names starting with {' or '.join(RESERVED_EVENT_PREFIXES)} are reserved for system events.",
            details={"name": [f"{' and '.join(RESERVED_EVENT_PREFIXES)} names are reserved."]},
        )
    return Event.objects.create(
        organisation=organisation,
        contact=contact,
        name=name,
        properties=dict(properties or {}),
        timestamp=timestamp or timezone.now(),
    )


def event_record_system(
    *,
    organisation_id: str,
    contact_id: str,
    name: str,
    send_id: str,
    at: datetime,
    properties: dict[str, Any],
    statements: Statements,
) -> Event:
    """A system event (`email.opened` ...), recorded by the engagement pipeline in the transaction
    of the fact it describes: its INSERT is queued on `statements` for the caller to run with its
    other writes (the contact must exist: the caller has checked)."""
    event = Event(
        organisation_id=organisation_id,
        contact_id=contact_id,
        name=name,
        send_id=send_id,
        properties=properties,
        timestamp=at,
    )
    statements.add(*insert_statement(event))
    return event


def events_mark_reacted(*, event_ids: list[str], notes: Mapping[str, list[str]] | None = None) -> None:
    """The higher layers have reacted to these events (scheduling.reactions, in its transaction);
    `notes` say, per event, what they decided not to do (shown in the admin)."""
    now = timezone.now()
    Event.objects.filter(pk__in=event_ids).update(reacted_at=now)
    for event_id, lines in (notes or {}).items():
        Event.objects.filter(pk=event_id).update(reaction_notes=lines)


def events_purge(*, event_ids: list[str]) -> int:
    """Deletes these events (retention: purge_events)."""
    deleted, _ = Event.objects.filter(pk__in=event_ids).delete()
    return deleted

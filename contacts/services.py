"""The only writers of contacts and events."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.emails import normalise_email
from contacts.models import Contact, Event
from contacts.selectors import contact_find_by_email
from contacts.signals import contact_deleting, contact_opted_out, event_recorded
from kraiter.errors import Conflict
from kraiter.models import Organisation


def contact_create(*, organisation: Organisation, email: str, properties: Mapping[str, Any] | None = None) -> Contact:
    """A new contact; Conflict when the organisation already has this address (in any case)."""
    email = normalise_email(email)
    try:
        with transaction.atomic():
            return Contact.objects.create(organisation=organisation, email=email, properties=dict(properties or {}))
    except IntegrityError:
        raise Conflict(f"A contact with the email {email} already exists.") from None


def contact_get_or_create(*, organisation: Organisation, email: str) -> tuple[Contact, bool]:
    """The contact with this address, created when absent; safe when two requests race."""
    email = normalise_email(email)
    contact = contact_find_by_email(organisation=organisation, email=email)
    if contact is not None:
        return contact, False
    try:
        with transaction.atomic():
            return Contact.objects.create(organisation=organisation, email=email), True
    except IntegrityError:
        # Another request created it between our read and our insert: theirs is the contact.
        contact = contact_find_by_email(organisation=organisation, email=email)
        if contact is None:
            raise
        return contact, False


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
            contact.properties = merged
            contact.save(update_fields=["properties", "updated_at"])
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
    with transaction.atomic():
        contact_deleting.send(sender=Contact, contact=contact)
        contact.delete()


def event_create(
    *,
    organisation: Organisation,
    contact: Contact,
    name: str,
    properties: Mapping[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """Records an event; receivers (scheduling) enrol the contact in the sequences it triggers,
    in the same transaction."""
    with transaction.atomic():
        event = Event.objects.create(
            organisation=organisation,
            contact=contact,
            name=name,
            properties=dict(properties or {}),
            timestamp=timestamp or timezone.now(),
        )
        event_recorded.send(sender=Event, event=event)
    return event

"""Engagement events (SES notifications, our own pixel and click links) applied to sends.

The rules (API.md 6), made to hold whatever order and however often events arrive:
- Each timestamp is the time of the first event of its kind, by event time: an earlier event
  arriving late moves it earlier, a duplicate or a later one changes nothing.
- Status only moves forward along queued → sent → delivered → bounced → complained, and
  rejected ends everything. It is the furthest status any event reached, so a delivery that
  arrives after a bounce leaves the send bounced. (A complaint about a bounced send is the one
  move between the two final states: the complaint is the stronger signal.)
- Opens and clicks set timestamps but never change the status; a click implies an open.
- A permanent bounce or any complaint suppresses the contact (and so cancels its scheduled sends).
Each first-time timestamp is announced with `send_event_recorded`, in the same transaction, so
metrics count every event exactly once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from contacts.models import Contact
from contacts.services import contact_suppress
from kraiter.api.ids import is_valid_id
from sends.delivery import uncertain_attempts_resolved
from sends.models import Send
from sends.signals import send_event_recorded

logger = logging.getLogger("kraiter.engagement")

_RANK = {"queued": 0, "sent": 1, "delivered": 2, "bounced": 3, "complained": 4, "rejected": 5}
# event → (timestamp field, status it moves the send to, or None)
_EFFECTS: dict[str, tuple[str | None, str | None]] = {
    "sent": ("sent_at", "sent"),
    "delivered": ("delivered_at", "delivered"),
    "opened": ("opened_at", None),
    "clicked": ("clicked_at", None),
    "bounced": ("bounced_at", "bounced"),
    "complained": ("complained_at", "complained"),
    "rejected": (None, "rejected"),
    "delayed": (None, None),
}


@dataclass(frozen=True)
class EngagementEvent:
    event: str  # sent, delivered, opened, clicked, bounced, complained, rejected or delayed
    at: datetime
    permanent: bool = False  # a permanent bounce
    detail: str = ""  # bounce or rejection reason, delay type, clicked link
    ses_message_id: str = ""  # SES's id for the message, when the event comes from SES


def engagement_record(*, send_id: str, event: EngagementEvent) -> bool | None:
    """Applies one event to a send: True when it changed anything, False when it changed
    nothing (a duplicate, a later event of a kind already seen), None when there is no such send.

    The send's row is locked while the rules are applied, so concurrent events for one send
    are applied one after the other, each seeing what the previous one did."""
    timestamp_field, status = _EFFECTS[event.event]
    with transaction.atomic():
        send = Send.objects.select_for_update().filter(pk=send_id).first() if is_valid_id(send_id, "snd") else None
        if send is None:
            return None
        changes: dict[str, Any] = {}
        announced: list[tuple[str, datetime, datetime | None]] = []

        def earliest(name: str, field: str) -> None:
            previous = getattr(send, field)
            if previous is None or previous > event.at:
                changes[field] = event.at
                setattr(send, field, event.at)
                announced.append((name, event.at, previous))

        if event.event != "rejected" and _attempted_without_record(send):
            # Proof that SES has the message, for a send whose attempt did not record it (its answer
            # or its worker was lost): it is sent, with SES's id, and no further attempt follows.
            changes.update(_confirmed_by_ses(send, event))
            send.status = Send.Status.SENT
            earliest("sent", "sent_at")
        if timestamp_field:
            earliest(event.event, timestamp_field)
        if event.event == "clicked":
            earliest("opened", "opened_at")
        if status and _RANK[send.status] < _RANK[status]:
            changes["status"] = send.status = status
            if status == "rejected":
                changes["rejection_reason"] = (event.detail or "Rejected by SES.")[:2000]
        if event.event == "delayed":
            changes["last_error"] = f"Delivery delayed: {event.detail}"[:2000]
        if changes:
            Send.objects.filter(pk=send_id).update(**changes)
        for name, at, previous in announced:
            send_event_recorded.send(sender=Send, send=send, event=name, at=at, previous_at=previous)
        if event.event == "complained" or (event.event == "bounced" and event.permanent):
            _suppress_recipient(send.contact_id, "complained" if event.event == "complained" else "bounced")
    return bool(changes)


def _attempted_without_record(send: Send) -> bool:
    """Attempted, and still queued or rejected: the event means one of its attempts got through."""
    return send.attempts > 0 and send.status in (Send.Status.QUEUED, Send.Status.REJECTED)


def _confirmed_by_ses(send: Send, event: EngagementEvent) -> dict[str, Any]:
    resolution = f"confirmed: the message was reported {event.event}"
    fields: dict[str, Any] = {
        "status": Send.Status.SENT,
        "lease_expires_at": None,
        "recorded_attempt": send.attempts,
        "uncertain_attempts": uncertain_attempts_resolved(send.uncertain_attempts, resolution),
    }
    if event.ses_message_id and not send.ses_message_id:
        fields["ses_message_id"] = event.ses_message_id
    if send.status == Send.Status.REJECTED:
        fields["rejection_reason"] = None
        fields["last_error"] = f"Was rejected ({send.rejection_reason}); then SES reported it {event.event}."[:2000]
    return fields


def _suppress_recipient(contact_id: str | None, reason: str) -> None:
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    if contact is not None:
        contact_suppress(contact=contact, reason=reason)


def send_id_for_ses_message(ses_message_id: str) -> str | None:
    return Send.objects.filter(ses_message_id=ses_message_id).values_list("id", flat=True).first()

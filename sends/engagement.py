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

from django.db import transaction
from django.db.models import Q

from contacts.models import Contact
from contacts.services import contact_suppress
from kraiter.api.ids import is_valid_id
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
EVENTS = tuple(_EFFECTS)


@dataclass(frozen=True)
class EngagementEvent:
    event: str  # one of EVENTS
    at: datetime
    permanent: bool = False  # a permanent bounce
    detail: str = ""  # bounce or rejection reason, delay type, clicked link


def engagement_record(*, send_id: str, event: EngagementEvent) -> bool:
    """Applies one event to a send; True when it changed anything."""
    timestamp_field, status = _EFFECTS[event.event]
    changed = False
    with transaction.atomic():
        if timestamp_field:
            changed |= _set_earliest(send_id, event.event, timestamp_field, event.at)
        if event.event == "clicked":
            changed |= _set_earliest(send_id, "opened", "opened_at", event.at)
        if status:
            changed |= _advance_status(send_id, status, event.detail)
        if event.event == "delayed":
            Send.objects.filter(pk=send_id).update(last_error=f"Delivery delayed: {event.detail}"[:2000])
        if event.event == "complained" or (event.event == "bounced" and event.permanent):
            _suppress_recipient(send_id, "complained" if event.event == "complained" else "bounced")
    return changed


def _set_earliest(send_id: str, event: str, field: str, at: datetime) -> bool:
    """Sets the timestamp if unset or later than `at`; tells metrics where it was and is now."""
    previous = Send.objects.filter(pk=send_id).values_list(field, flat=True).first()
    if previous is not None and previous <= at:
        return False
    condition = Q(**{f"{field}__isnull": True}) if previous is None else Q(**{field: previous})
    if not Send.objects.filter(condition, pk=send_id).update(**{field: at}):
        # Another worker changed it between our read and write: apply the rule again on its value.
        return _set_earliest(send_id, event, field, at)
    send = Send.objects.get(pk=send_id)
    send_event_recorded.send(sender=Send, send=send, event=event, at=at, previous_at=previous)
    return True


def _advance_status(send_id: str, status: str, detail: str) -> bool:
    lower = [name for name, rank in _RANK.items() if rank < _RANK[status]]
    fields: dict[str, str] = {"status": status}
    if status == "rejected":
        fields["rejection_reason"] = (detail or "Rejected by SES.")[:2000]
    return bool(Send.objects.filter(pk=send_id, status__in=lower).update(**fields))


def _suppress_recipient(send_id: str, reason: str) -> None:
    contact_id = Send.objects.filter(pk=send_id).values_list("contact_id", flat=True).first()
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    if contact is not None:
        contact_suppress(contact=contact, reason=reason)


def send_find(*, send_id: str | None = None, ses_message_id: str | None = None) -> str | None:
    """The id of the send an event is about: by our id when the event carries it, else by SES's."""
    if send_id and is_valid_id(send_id, "snd") and Send.objects.filter(pk=send_id).exists():
        return send_id
    if ses_message_id:
        return Send.objects.filter(ses_message_id=ses_message_id).values_list("id", flat=True).first()
    return None

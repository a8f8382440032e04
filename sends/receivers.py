"""django-ses's signals (one per SES event type), each turned into one service call."""

from typing import Any

from django_ses import signals

from sends.ses_events import SES_EVENT_TYPES, ses_message_apply

# signal → (SES eventType, the keyword django-ses passes the event's detail object in)
_SIGNALS = [
    (signals.send_received, "Send", "send_obj"),
    (signals.delivery_received, "Delivery", "delivery_obj"),
    (signals.bounce_received, "Bounce", "bounce_obj"),
    (signals.complaint_received, "Complaint", "complaint_obj"),
    (signals.open_received, "Open", "open_obj"),
    (signals.click_received, "Click", "click_obj"),
]


def _receiver_for(event_type: str, detail_keyword: str) -> Any:
    detail_key = SES_EVENT_TYPES[event_type][1]

    def receive(sender: Any, mail_obj: dict[str, Any] | None = None, **kwargs: Any) -> None:
        ses_message_apply(
            {"eventType": event_type, "mail": mail_obj or {}, detail_key: kwargs.get(detail_keyword) or {}}
        )

    receive.__name__ = f"apply_ses_{event_type.lower()}"
    return receive


def connect() -> None:
    for signal, event_type, detail_keyword in _SIGNALS:
        signal.connect(_receiver_for(event_type, detail_keyword), weak=False, dispatch_uid=f"kraiter-ses-{event_type}")

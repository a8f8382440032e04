"""SES event notifications (from the webhook or an import) turned into engagement events.

The webhook (sends.webhooks) and `import_ses_events` both come through here: a notification is
stored first (unique on its SNS MessageId), then applied once, then marked processed.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sends.delivery import SEND_ID_HEADER
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, SesNotification

logger = logging.getLogger("kraiter.engagement")

# SES eventType (or notificationType) → (the kind of fact, the key of its detail object in the message)
SES_EVENT_TYPES: dict[str, tuple[EngagementKind, str]] = {
    "Send": (EngagementKind.SENT, "send"),
    "Delivery": (EngagementKind.DELIVERED, "delivery"),
    "Open": (EngagementKind.OPENED, "open"),
    "Click": (EngagementKind.CLICKED, "click"),
    "Bounce": (EngagementKind.BOUNCED, "bounce"),
    "Complaint": (EngagementKind.COMPLAINED, "complaint"),
    "Reject": (EngagementKind.REJECTED, "reject"),
    "Rendering Failure": (EngagementKind.REJECTED, "failure"),
    "DeliveryDelay": (EngagementKind.DELAYED, "deliveryDelay"),
}


def ses_message_fact(message: dict[str, Any]) -> EngagementFact | None:
    """The fact one SES event message (the JSON inside an SNS notification) reports; None when it
    is not an event we use."""
    event_type = ses_event_type(message)
    if event_type not in SES_EVENT_TYPES:
        return None
    kind, detail_key = SES_EVENT_TYPES[event_type]
    mail = message.get("mail") or {}
    detail = message.get(detail_key) or {}
    return EngagementFact(
        kind,
        _timestamp(detail.get("timestamp") or mail.get("timestamp")),
        # Our own id, when the event carries it (a message tag or header), else SES's message id.
        send_id=_tag(mail, "send_id") or _header(mail, SEND_ID_HEADER),
        ses_message_id=str(mail.get("messageId") or "")[:128],
        **_specifics(event_type, detail),
    )


def ses_message_apply(message: dict[str, Any]) -> bool:
    """Applies one SES event message to its send; False when it is not an event we use or names
    no send of ours."""
    fact = ses_message_fact(message)
    if fact is None:
        logger.info("Ignoring SES event of type %r", ses_event_type(message))
        return False
    if engagement_record(fact) == "no_send":
        logger.info("SES %s event for message %s matches no send", fact.kind, fact.ses_message_id)
        return False
    return True


def ses_notification_store(
    *, notification: dict[str, Any], event_type: str = "", ses_message_id: str = ""
) -> SesNotification | None:
    """Keeps the raw notification, marked processed (call it in the transaction that applies it,
    and ses_notification_mark(error=...) if applying fails); None when it was already stored and
    processed (a duplicate). One stored earlier whose processing failed is returned to retry."""
    key = (
        str(notification.get("MessageId") or "")
        or "sha256:" + hashlib.sha256(json.dumps(notification, sort_keys=True).encode()).hexdigest()
    )
    try:
        with transaction.atomic():
            return SesNotification.objects.create(
                message_id=key[:100],
                topic_arn=str(notification.get("TopicArn") or "")[:256],
                event_type=event_type[:40],
                ses_message_id=ses_message_id[:128],
                body=notification,
                processed_at=timezone.now(),
            )
    except IntegrityError:
        stored = SesNotification.objects.get(message_id=key[:100])
        return None if stored.processed_at else stored


def ses_notification_mark(*, stored: SesNotification, error: str = "") -> None:
    """Records that applying the notification failed (error) or, on a retry, succeeded."""
    SesNotification.objects.filter(pk=stored.pk).update(
        processed_at=None if error else timezone.now(), error=error[:2000]
    )


def ses_event_type(message: dict[str, Any]) -> str:
    return str(message.get("eventType") or message.get("notificationType") or "")


def ses_notification_message(notification: dict[str, Any]) -> dict[str, Any]:
    """The SES event inside an SNS notification ({} for confirmations and unreadable ones)."""
    if notification.get("Type") != "Notification":
        return {}
    try:
        message = json.loads(notification.get("Message") or "{}")
    except (ValueError, TypeError):
        return {}
    return message if isinstance(message, dict) else {}


def _specifics(event_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    if event_type == "Bounce":
        recipient = (detail.get("bouncedRecipients") or [{}])[0]
        bounce = {
            "bounceType": str(detail.get("bounceType", "")),
            "bounceSubType": str(detail.get("bounceSubType", "")),
            "diagnosticCode": str(recipient.get("diagnosticCode", "") if isinstance(recipient, dict) else ""),
        }
        return {"permanent": detail.get("bounceType") == "Permanent", "bounce": bounce}
    if event_type == "Reject":
        return {"detail": f"Rejected by SES: {detail.get('reason', 'unknown reason')}"}
    if event_type == "Rendering Failure":
        return {"detail": f"SES could not render the message: {detail.get('errorMessage', '')}"}
    if event_type == "DeliveryDelay":
        return {"detail": str(detail.get("delayType", "unknown"))}
    if event_type == "Click":
        return {"url": str(detail.get("link", ""))}
    return {}


def _tag(mail: dict[str, Any], name: str) -> str | None:
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def _header(mail: dict[str, Any], name: str) -> str | None:
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value", "")).strip()
    return None


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return timezone.now()


@dataclass(frozen=True)
class ExportedEvent:
    """One line of an export: the record to store (with its SNS MessageId when there is one) and
    the SES event inside it."""

    record: dict[str, Any]
    message: dict[str, Any]


def ses_export_line_parse(line: str) -> ExportedEvent:
    """Reads a line exported from SNS (the notification), SQS (a message whose Body is the
    notification) or Firehose (the bare SES event). ValueError when it is none of those."""
    data = json.loads(line)
    body = data.get("Body") or data.get("body") if isinstance(data, dict) else None
    if isinstance(body, str):
        data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        message = json.loads(data["Message"])
        if not isinstance(message, dict):
            raise ValueError("the notification's Message is not an SES event")
        return ExportedEvent(data, message)
    if data.get("eventType") or data.get("notificationType"):
        return ExportedEvent(data, data)
    raise ValueError("neither an SNS notification nor an SES event")


def ses_export_import(event: ExportedEvent) -> str:
    """Stores and applies one exported event, like the webhook does; returns what happened:
    applied, duplicate or ignored (an event type we do not use, or no send of ours)."""
    with transaction.atomic():
        stored = ses_notification_store(
            notification=event.record,
            event_type=ses_event_type(event.message),
            ses_message_id=str((event.message.get("mail") or {}).get("messageId") or ""),
        )
        if stored is None:
            return "duplicate"
        applied = ses_message_apply(event.message)
        if stored.error:
            ses_notification_mark(stored=stored)  # a retry of one that failed before
    return "applied" if applied else "ignored"

"""SES event notifications: stored, turned into one engagement fact, applied once.

Both entries come through `ses_notification_receive`: the webhook (django-ses's signals, then
sends.engagement.receivers) and `import_ses_events` (an export's lines). It stores the raw
notification (unique on its SNS MessageId, so a redelivery or a re-import changes nothing) and
applies its fact through the pipeline in the same transaction: one commit per notification. If
applying fails, the notification is kept with the error, the exception goes on (the webhook
answers 500 and SNS retries; the retry applies the kept row).
"""

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.utils import timezone

from kraiter.statements import Statement, first_rows, insert_statement
from kraiter.untrusted import UntrustedInput, loads
from sends.delivery import SEND_ID_HEADER
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, SesNotification

logger = logging.getLogger("kraiter.engagement")
Received = Literal["applied", "duplicate", "ignored"]


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
    mail = _mail(message)
    detail = message.get(detail_key)
    detail = detail if isinstance(detail, dict) else {}
    return EngagementFact(
        kind,
        _timestamp(detail.get("timestamp") or mail.get("timestamp")),
        # Our own id, when the event carries it (a message tag or header), else SES's message id.
        send_id=_tag(mail, "send_id") or _header(mail, SEND_ID_HEADER),
        ses_message_id=str(mail.get("messageId") or "")[:128],
        **_specifics(event_type, detail),
    )


def ses_notification_receive(*, record: dict[str, Any], message: dict[str, Any]) -> Received:
    """Stores the notification (`record`: the SNS notification, or a bare SES event from an
    export) and applies the SES event in it (`message`): "applied", "duplicate" (stored and
    applied before), or "ignored" (an event type we do not use, or one for no send of ours).

    Stored and applied in one transaction (one commit): the row is written already processed,
    so a redelivery finds it and changes nothing. If applying fails, the transaction rolls back
    and the notification is kept with the error in a transaction of its own; the exception goes
    on (SNS gets a 500 and retries; the retry applies it)."""
    key = ses_notification_key(record)
    fact = ses_message_fact(message)
    try:
        if fact is None:
            with transaction.atomic():
                if not _claim(key, record, message):
                    return "duplicate"
            outcome = None
        else:  # one transaction: the notification stored in the round trip that reads and locks its send
            outcome = engagement_record(fact, claim=_claim_statement(key, record, message))
            if outcome == "not_claimed":  # the key is taken: by one applied before, or one kept after a failure
                with transaction.atomic():
                    if not _claim_kept(key):
                        return "duplicate"
                    outcome = engagement_record(fact, savepoint=False)
    except Exception as exc:
        logger.exception("Could not apply SES notification %s; it is kept for a retry", key)
        _keep_failed(key, record, message, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    if outcome in (None, "no_send"):
        logger.info("Ignored SES %s event for message %s", ses_event_type(message), _mail(message).get("messageId"))
        return "ignored"
    return "applied"


def ses_notification_key(notification: dict[str, Any]) -> str:
    """The de-duplication key: the SNS MessageId, or a hash of a bare event's body."""
    return (
        str(notification.get("MessageId") or "")
        or "sha256:" + hashlib.sha256(json.dumps(notification, sort_keys=True).encode()).hexdigest()
    )[:100]


def _stored(key: str, notification: dict[str, Any], message: dict[str, Any], **fields: Any) -> SesNotification:
    return SesNotification(
        message_id=key,
        topic_arn=str(notification.get("TopicArn") or "")[:256],
        event_type=ses_event_type(message)[:40],
        ses_message_id=str(_mail(message).get("messageId") or "")[:128],
        body=notification,
        **fields,
    )


def _claim(key: str, notification: dict[str, Any], message: dict[str, Any]) -> bool:
    """Stores the notification as processed, in the caller's transaction; False when it was
    stored and applied before. One kept after a failure is marked processed and applied now.
    A concurrent first delivery of the same message waits on the unique key, then sees it."""
    return first_rows(_claim_statement(key, notification, message))[0] is not None or _claim_kept(key)


def _claim_statement(key: str, notification: dict[str, Any], message: dict[str, Any]) -> Statement:
    """The INSERT of the notification, already processed, returning a row unless its key is taken."""
    sql, params = insert_statement(_stored(key, notification, message, processed_at=timezone.now()))
    return f"{sql} ON CONFLICT (message_id) DO NOTHING RETURNING 1", params


def _claim_kept(key: str) -> bool:
    """For a key already taken: whether it is a notification kept after a failure (now marked
    processed, to be applied), not one applied before."""
    kept = SesNotification.objects.select_for_update().filter(message_id=key).first()
    if kept is None or kept.processed_at is not None:
        return False
    SesNotification.objects.filter(pk=kept.pk).update(processed_at=timezone.now(), error="")
    return True


def _keep_failed(key: str, notification: dict[str, Any], message: dict[str, Any], *, error: str) -> None:
    """Keeps a notification whose applying failed, with the error (for the admin and the retry)."""
    try:
        with transaction.atomic():
            _stored(key, notification, message, error=error).save(force_insert=True)
    except IntegrityError:
        SesNotification.objects.filter(message_id=key, processed_at__isnull=True).update(error=error)


Parsed = tuple[dict[str, Any], dict[str, Any]]
# The body the webhook is handling, already parsed and checked at its edge (see `ses_body_parsed`).
_parsed_body: ContextVar[tuple[bytes, Parsed] | None] = ContextVar("ses_parsed_body", default=None)


@contextmanager
def ses_body_parsed(body: bytes, parsed: Parsed) -> Iterator[None]:
    """While the webhook hands `body` to django-ses, `ses_notification_parse` of that same body
    returns `parsed` (the notification and its SES event, checked at the edge) instead of
    reading and checking them again."""
    token = _parsed_body.set((body, parsed))
    try:
        yield
    finally:
        _parsed_body.reset(token)


def ses_notification_parse(raw: bytes | str) -> Parsed:
    """The SNS notification in a webhook body, and the SES event in its Message ({} when there is
    none), both checked (kraiter.untrusted). The body the webhook parsed at its edge is not read
    again."""
    parsed = _parsed_body.get()
    if parsed is not None and parsed[0] is raw:
        return parsed[1]
    notification = loads(raw)
    try:
        return notification, ses_notification_message(notification)
    except UntrustedInput:
        return notification, {}


def ses_event_type(message: dict[str, Any]) -> str:
    return str(message.get("eventType") or message.get("notificationType") or "")


def ses_notification_message(notification: dict[str, Any]) -> dict[str, Any]:
    """The SES event inside an SNS notification ({} for confirmations and a Message that is not a
    JSON object); UntrustedInput when the Message holds what kraiter.untrusted refuses (the
    webhook's edge check answers that with a 400)."""
    text = notification.get("Message")
    if notification.get("Type") != "Notification" or not isinstance(text, str):
        return {}
    try:
        message = loads(text)
    except ValueError:
        return {}  # not JSON: django-ses logs it and ignores it
    return message if isinstance(message, dict) else {}


def _mail(message: dict[str, Any]) -> dict[str, Any]:
    mail = message.get("mail")
    return mail if isinstance(mail, dict) else {}


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
    notification) or Firehose (the bare SES event), with the same checks as the webhook's body
    (nesting, storable text). ValueError (or UntrustedInput) when it is none of those."""
    data = loads(line)
    body = (data.get("Body") or data.get("body")) if isinstance(data, dict) else None
    if isinstance(body, str):
        data = loads(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        message = loads(data["Message"])
        if not isinstance(message, dict):
            raise ValueError("the notification's Message is not an SES event")
        return ExportedEvent(data, message)
    if data.get("eventType") or data.get("notificationType"):
        return ExportedEvent(data, data)
    raise ValueError("neither an SNS notification nor an SES event")

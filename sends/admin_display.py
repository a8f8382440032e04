"""What the send page shows support, built from the send, its events and its stored content:
the timeline with the reasons (bounce diagnostics, the clicked URL), the badges, and the email
as it was sent, made inert (kraiter.email_display) for the page and the .eml download."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html

from contacts.models import Event
from kraiter.email_display import email_for_display
from sends.models import Send, SendContent

BADGE_COLOURS = {
    "queued": "#6b7280",
    "sent": "#2563eb",
    "delivered": "#15803d",
    "bounced": "#b91c1c",
    "complained": "#9a3412",
    "rejected": "#7f1d1d",
}
EVENT_DETAILS = {"diagnosticCode": "diagnostic", "bounceType": "type", "bounceSubType": "subtype", "url": "link"}


def when(moment: datetime | None) -> str:
    """A moment as support reads it, with its zone: 2026-12-02 09:15:04 UTC."""
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def status_badge(send: Send) -> Any:
    status = send.status
    colour = BADGE_COLOURS.get(status, "#6b7280")
    return format_html(
        '<span class="send-status send-status-{}" style="background:{};color:#fff;border-radius:9px;'
        'padding:1px 8px;font-size:11px;white-space:nowrap">{}</span>',
        status,
        colour,
        send.get_status_display(),
    )


def backend_name() -> str:
    """What "sent" means here: handed to SES, or written to the outbox folder, or another backend."""
    backend = settings.EMAIL_BACKEND
    if backend.endswith("SESBackend"):
        return "handed to SES"
    if backend == "kraiter.mail.OutboxBackend":
        return f"written to the outbox ({settings.OUTBOX_DIR})"
    return f"handed to {backend}"


# Ties (one moment for several facts, as in imports) are shown in the order a send lives them.
STAGES = ["created", "sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed", "rejected"]


def timeline_rows(send: Send) -> list[list[Any]]:
    """Each moment of the send, with what the event said (bounce reason, clicked link), oldest first."""
    moments: list[tuple[datetime, str, str, str]] = [
        (send.created_at, "created", "created", ""),
        *([(send.sent_at, "sent", backend_name(), "")] if send.sent_at else []),
        *([(send.delivered_at, "delivered", "delivered", "")] if send.delivered_at else []),
    ]
    seen = {"sent", "delivered"}  # from the send's own columns; their events say nothing more
    for event in Event.objects.filter(send_id=send.id).order_by("timestamp")[:100]:  # event_send_idx
        stage = event.name.removeprefix("email.")
        details = "; ".join(
            f"{label}: {event.properties[key]}" for key, label in EVENT_DETAILS.items() if event.properties.get(key)
        )
        if stage not in ("sent", "delivered"):
            moments.append((event.timestamp, stage, stage, details))
        seen.add(stage)
    for stage in ("opened", "clicked", "bounced", "complained"):  # no event when the contact was deleted
        if getattr(send, f"{stage}_at") and stage not in seen:
            moments.append((getattr(send, f"{stage}_at"), stage, stage, ""))
    if send.status == Send.Status.REJECTED:
        moments.append((send.created_at, "rejected", "rejected", send.rejection_reason or ""))
    moments.sort(key=_order)
    return [[when(at), what, details] for at, _, what, details in moments]


def _order(moment: tuple[datetime, str, str, str]) -> tuple[datetime, int]:
    return moment[0], STAGES.index(moment[1]) if moment[1] in STAGES else len(STAGES)


def content_missing(send: Send) -> str:
    """Why there is no stored email, said truthfully."""
    if send.status == Send.Status.REJECTED:
        return "Not rendered: the send was rejected before any email was made."
    return "Not stored any more: removed by purge_send_content (the log of the send is kept)."


def inert_eml(send: Send, content: SendContent) -> bytes:
    """The message as built for delivery, with its pixel and tracked links made inert, so opening
    the download in a mail program records nothing."""
    from sends.delivery import build_message

    safe = SendContent(send_id=send.id, html=email_for_display(content.html).html, text=content.text)
    message = build_message(send, safe)
    message.extra_headers["X-Kraiter-Copy"] = "admin download; tracking links replaced by their destinations"
    return message.message().as_bytes()


def message_headers(send: Send, content: SendContent) -> list[list[str]]:
    from sends.delivery import build_message

    message = build_message(send, content).message()
    return [
        [name, str(value)] for name, value in message.items() if name.lower() not in ("content-type", "mime-version")
    ]

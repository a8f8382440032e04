"""Delivery: a queued send becomes one email handed to the email backend (SES), exactly once.

1. Claim: a conditional UPDATE takes a queued send whose lease is free, sets a lease and bumps
   `attempts`. Two workers cannot both claim it; the loser does nothing.
2. Wait for a slot of the shared SES rate limiter.
3. Hand the message to the backend (django-ses in production).
4. Record the outcome, guarded by the attempt number: a worker whose claim was taken over
   (its lease expired) cannot overwrite the newer attempt.

Throttling and network errors release the send for a retry with jittered backoff; SES rejections
end it as `rejected`. The sweeper (`sends_due_for_sweep`) re-enqueues sends whose lease expired
or that nobody picked up, so a lost broker message or a killed worker delays a send but never
loses it. The one window for a duplicate is between SES accepting and our UPDATE; it is a single
statement long, and a later attempt that finds an earlier one vanished records it in last_error.
"""

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.utils import timezone

from kraiter.links import unsubscribe_url
from sends.models import Send, SendContent
from sends.ratelimit import ses_rate_limiter
from sends.signals import send_event_recorded

logger = logging.getLogger("kraiter.delivery")

# SES error codes that mean "this message will never be accepted": the send ends as rejected.
PERMANENT_SES_ERRORS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerified",
        "MailFromDomainNotVerifiedException",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "ValidationError",
    }
)
SEND_ID_HEADER = "X-Kraiter-Send-Id"


@dataclass(frozen=True)
class Claim:
    send_id: str
    attempt: int
    send: Send  # as loaded right after claiming, with its organisation and content


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str  # "sent" | "rejected" | "retry" | "not_claimed"
    attempt: int | None = None
    retry_in: float | None = None


def deliver_send(send_id: str, *, expected_attempt: int | None = None) -> DeliveryResult:
    """Claims and delivers one send. Safe to call any number of times, from any worker."""
    claim = send_claim(send_id, expected_attempt=expected_attempt)
    if claim is None:
        return DeliveryResult("not_claimed")
    content = getattr(claim.send, "content", None)
    if content is None:
        send_reject(claim, reason="The rendered content of this send is gone (purged); it cannot be delivered.")
        return DeliveryResult("rejected", claim.attempt)
    message = build_message(claim.send, content)
    ses_rate_limiter().wait_for_slot()
    try:
        email_backend().send_messages([message])
    except Exception as exc:  # every failure is classified: nothing escapes unrecorded
        forget_email_backend()  # its connection may be what broke
        return _handle_failure(claim, exc)
    send_mark_sent(claim, message_id=message.extra_headers.get("message_id"))
    return DeliveryResult("sent", claim.attempt)


_backends = threading.local()


def email_backend() -> Any:
    """This thread's open email backend, kept between deliveries: django-ses builds a boto3
    client when a backend opens, which costs far more than sending one message."""
    key = (settings.EMAIL_BACKEND, getattr(settings, "AWS_SES_REGION_ENDPOINT_URL", None))
    if getattr(_backends, "key", None) != key:
        forget_email_backend()
        backend = get_connection()
        backend.open()
        _backends.backend, _backends.key = backend, key
    return _backends.backend


def forget_email_backend() -> None:
    backend = getattr(_backends, "backend", None)
    if backend is not None:
        backend.close()
    _backends.backend = _backends.key = None


def send_claim(send_id: str, *, expected_attempt: int | None = None) -> Claim | None:
    """Takes the send for one attempt, or None when it is not queued or another worker holds it.

    `expected_attempt` lets the retry scheduled by attempt N take the send back at once, without
    waiting for the lease that attempt N released."""
    now = timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    if expected_attempt is not None:
        free |= Q(attempts=expected_attempt)
    claimed = Send.objects.filter(free, pk=send_id, status=Send.Status.QUEUED).update(
        attempts=F("attempts") + 1, lease_expires_at=now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    )
    if not claimed:
        return None
    send = Send.objects.select_related("organisation", "content").get(pk=send_id)
    if send.attempts > 1 and not send.last_error:
        # The previous attempt claimed the send and vanished (a killed worker) without recording an
        # outcome. If SES accepted that attempt, this one sends a second copy: say so where staff look.
        send.last_error = (
            f"Attempt {send.attempts - 1} was lost after claiming (worker stopped); SES may have accepted it."
        )
        logger.warning("Send %s: %s", send_id, send.last_error)
        Send.objects.filter(pk=send_id, attempts=send.attempts).update(last_error=send.last_error)
    return Claim(send_id, send.attempts, send)


def send_mark_sent(claim: Claim, *, message_id: str | None) -> bool:
    now = timezone.now()
    updated = Send.objects.filter(pk=claim.send_id, attempts=claim.attempt, status=Send.Status.QUEUED).update(
        status=Send.Status.SENT, sent_at=now, ses_message_id=message_id, lease_expires_at=None
    )
    if not updated:
        logger.error(
            "Send %s was handed to SES by attempt %s after another attempt took it over; "
            "the recipient may receive it twice (message id %s).",
            claim.send_id,
            claim.attempt,
            message_id,
        )
        return False
    send = claim.send
    send.status, send.sent_at, send.ses_message_id, send.lease_expires_at = Send.Status.SENT, now, message_id, None
    send_event_recorded.send(sender=Send, send=send, event="sent", at=now, previous_at=None)
    return True


def send_reject(claim: Claim, *, reason: str) -> bool:
    return bool(
        Send.objects.filter(pk=claim.send_id, attempts=claim.attempt, status=Send.Status.QUEUED).update(
            status=Send.Status.REJECTED, rejection_reason=reason[:2000], lease_expires_at=None
        )
    )


def send_release_for_retry(claim: Claim, *, error: str, retry_at: datetime) -> bool:
    """Gives the send back for a later attempt; the sweeper takes it if the retry is lost."""
    return bool(
        Send.objects.filter(pk=claim.send_id, attempts=claim.attempt, status=Send.Status.QUEUED).update(
            lease_expires_at=retry_at, last_error=error[:2000]
        )
    )


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: about 2 s, 4 s, 8 s ... capped at 10 minutes."""
    ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def sends_due_for_sweep(*, limit: int = 1000) -> list[str]:
    """Queued sends nobody is working on: never picked up, or their lease (or retry time) passed."""
    now = timezone.now()
    grace = timedelta(seconds=settings.DELIVERY_PICKUP_GRACE_SECONDS)
    stale = Q(lease_expires_at__isnull=True, created_at__lt=now - grace) | Q(lease_expires_at__lt=now - grace)
    return list(
        Send.objects.filter(stale, status=Send.Status.QUEUED)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )


def build_message(send: Send, content: SendContent) -> EmailMultiAlternatives:
    """The MIME message: text and HTML parts, RFC 8058 one-click unsubscribe, our send id."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    headers = {
        "Message-ID": f"<{send.id}@{domain}>",
        "List-Unsubscribe": f"<{unsubscribe_url(send.id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        SEND_ID_HEADER: send.id,
    }
    if settings.AWS_SES_CONFIGURATION_SET:
        headers["X-SES-CONFIGURATION-SET"] = settings.AWS_SES_CONFIGURATION_SET
        headers["X-SES-MESSAGE-TAGS"] = (
            f"organisation={send.organisation_id}, send_id={send.id}, template={send.template_slug}"
        )
    message = EmailMultiAlternatives(
        subject=send.subject,
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[send.email],
        headers=headers,
    )
    message.attach_alternative(content.html, "text/html")
    return message


def _handle_failure(claim: Claim, exc: Exception) -> DeliveryResult:
    reason = _describe(exc)
    if _is_permanent(exc):
        logger.info("Send %s rejected by the email backend: %s", claim.send_id, reason)
        send_reject(claim, reason=f"Rejected by SES: {reason}")
        return DeliveryResult("rejected", claim.attempt)
    if claim.attempt >= settings.DELIVERY_MAX_ATTEMPTS:
        logger.warning("Send %s gave up after %s attempts: %s", claim.send_id, claim.attempt, reason)
        send_reject(claim, reason=f"Gave up after {claim.attempt} attempts; last error: {reason}")
        return DeliveryResult("rejected", claim.attempt)
    delay = retry_delay(claim.attempt)
    logger.info("Send %s attempt %s failed (%s); retrying in %.1fs", claim.send_id, claim.attempt, reason, delay)
    send_release_for_retry(
        claim, error=f"Attempt {claim.attempt}: {reason}", retry_at=timezone.now() + timedelta(seconds=delay)
    )
    return DeliveryResult("retry", claim.attempt, retry_in=delay)


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in PERMANENT_SES_ERRORS
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"

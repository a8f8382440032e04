"""Delivery: a queued send becomes one email handed to the email backend (SES).

One attempt:
1. Claim: a conditional UPDATE takes a queued send whose lease is free, sets a lease and bumps
   `attempts`. Two workers cannot both claim it; the loser does nothing.
2. Check again what may have changed since the send was queued: the contact deleted,
   unsubscribed (unless the send has ignoreUnsubscribe) or suppressed, the organisation paused.
   Any of these ends the send `rejected` with the reason, and nothing reaches SES.
3. Wait for a slot of the shared SES rate limiter, then hand the message to the backend.
4. Record the outcome, guarded by the attempt number, so a worker whose claim was taken over
   (its lease expired) cannot overwrite a newer attempt.

Outcomes of the SES call, told apart because they call for opposite answers:
- accepted: `sent`, with SES's message id. The write is retried on a fresh database connection
  (a failover, an idle kill) for as long as the lease allows.
- surely not taken (a connection that never opened, throttling, any error answer from SES):
  a permanent SES error ends the send `rejected`; the rest release it for a retry with jittered
  backoff, up to DELIVERY_MAX_ATTEMPTS.
- unknown (the request went out and the answer was lost: a read timeout, a connection reset):
  SES may have accepted it. The attempt is added to `uncertain_attempts`, a list that is only
  ever appended to, and the send waits DELIVERY_UNCERTAIN_WAIT_SECONDS for SES's own event
  stream (configuration set -> SNS -> /webhooks/ses/) to say what happened: an SES event for the
  send makes it `sent` (sends.engagement) and no attempt follows. With no event in that window,
  DELIVERY_UNCERTAIN_POLICY decides: `resend` (at-least-once, the default: the resend is marked
  in the list and carries an X-Kraiter-Resend-Of header; a resend that surely did not reach SES,
  throttled say, reopens the entries it resolved, so the attempt that does resend is marked) or
  `hold` (at-most-once: the send ends `sent`, unconfirmed, with the reason). A send that may have
  been accepted is never finally `rejected`: when it runs out of attempts it also ends `sent`,
  unconfirmed.

The windows that can still deliver a message twice, and where each is recorded:
- a worker killed (or its database lost for longer than the lease) after SES accepted and before
  `sent` was written. The next attempt finds an attempt that recorded nothing, adds it to
  `uncertain_attempts` ("the worker stopped ...") and applies the policy above: a second copy
  goes out only under `resend`, and it is marked.
- an answer lost (above): a second copy only under `resend`, marked.
- a worker that outlived its lease and then got SES's answer: `send_mark_sent` finds a newer
  attempt and records the accepted copy in `uncertain_attempts` (and marks the send `sent` if the
  newer attempt has not yet).
Nothing else sends twice: claims are exclusive, and the sweeper (`sends_due_for_sweep`) only
re-enqueues sends whose lease has run out, so a lost broker message or a killed worker delays a
send (by at most the lease plus one sweep) but never loses it.
"""

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, Literal, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    HTTPClientError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.parsers import ResponseParserError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts.models import Contact
from domains.models import Domain
from domains.sender import SenderBook, domain_of
from kraiter.links import unsubscribe_url
from kraiter.models import Organisation
from kraiter.rows import Columns, read_row
from sends.attempts import uncertain_attempts_resolved, uncertain_entry
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, Send, SendContent
from sends.ratelimit import ses_rate_limiter

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
# The request reached SES (or may have) and its answer was lost: SES may have accepted the message.
# A plain HTTPClientError is botocore's "unhandled exception while sending": unknown, so uncertain.
OUTCOME_UNKNOWN_ERRORS = (
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseStreamingError,
    ResponseParserError,
    HTTPClientError,
)
SEND_ID_HEADER = "X-Kraiter-Send-Id"
RESEND_HEADER = "X-Kraiter-Resend-Of"
LOST_ATTEMPT = "the worker stopped before recording an outcome (killed, or its database was gone)"

Outcome = Literal["sent", "rejected", "retry", "uncertain", "waiting", "not_claimed"]


@dataclass(frozen=True)
class Claim:
    send_id: str
    attempt: int
    send: Send  # as loaded right after claiming, with its organisation, contact and content
    claimed_at: float  # time.monotonic(): the lease runs from here


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    attempt: int | None = None
    retry_in: float | None = None  # when the task should try again (retry, uncertain, waiting)


def deliver_send(
    send_id: str, *, expected_attempt: int | None = None, task_id: str | None = None, redelivered: bool = False
) -> DeliveryResult:
    """Claims and delivers one send. Safe to call any number of times, from any worker.
    `task_id` and `redelivered` come from the Celery task (see send_claim)."""
    claim = send_claim(send_id, expected_attempt=expected_attempt, task_id=task_id, redelivered=redelivered)
    if claim is None:
        return DeliveryResult("not_claimed")
    refusal = delivery_refusal(claim.send)
    if refusal:
        return _end_refused(claim, refusal)
    unresolved = [entry for entry in claim.send.uncertain_attempts if not entry.get("resolution")]
    if unresolved:
        decision = _decide_after_uncertain(claim, unresolved)
        if decision is not None:
            return decision
    message = build_message(claim.send, claim.send.content, resend_of=[e["attempt"] for e in unresolved])
    try:
        backend = email_backend()  # opened first: a new boto3 client takes longer than a slot
        ses_rate_limiter().wait_for_slot()
        backend.send_messages([message])
    except Exception as exc:  # every failure is classified: nothing escapes unrecorded
        forget_email_backend()  # its connection may be what broke
        return _handle_failure(claim, exc)
    message_id = message.extra_headers.get("message_id")
    _write_until_lease_ends(claim, lambda: send_mark_sent(claim, message_id=message_id))
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
        client = getattr(backend, "connection", None)  # django-ses's boto3 client
        if client is not None and hasattr(client, "meta"):
            client.meta.events.register("before-sign.ses", _encode_query_body_once, unique_id=_ENCODE_ONCE)
        _backends.backend, _backends.key = backend, key
    return _backends.backend


_ENCODE_ONCE = "kraiter-encode-query-body-once"
# quote_plus's table: every byte but the unreserved ones as %XX, a space as "+".
_QUOTE_PLUS = {
    byte: "+" if byte == 32 else f"%{byte:02X}"
    for byte in range(256)
    if chr(byte) not in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~"
}


def _quote_plus(value: str | bytes) -> str:
    """urllib.parse.quote_plus(value, safe=""), by str.translate instead of a Python step per byte."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return raw.decode("latin-1").translate(_QUOTE_PLUS)


def _encode_query_body_once(request: Any, **kwargs: Any) -> None:
    """botocore form-encodes a query-protocol body (SendRawEmail's base64 message) one Python step
    per byte, and twice: once to sign it and once to send it. Encoded here once, the same
    bytes urlencode makes, before signing (botocore sends a body that is not a dict as it is)."""
    data = getattr(request, "data", None)
    if isinstance(data, dict) and all(isinstance(v, (str, bytes)) for v in data.values()):
        request.data = "&".join(f"{_quote_plus(k)}={_quote_plus(v)}" for k, v in data.items()).encode("ascii")


def forget_email_backend() -> None:
    backend = getattr(_backends, "backend", None)
    if backend is not None:
        backend.close()
    _backends.backend = _backends.key = None


def send_claim(
    send_id: str, *, expected_attempt: int | None = None, task_id: str | None = None, redelivered: bool = False
) -> Claim | None:
    """Takes the send for one attempt, or None when it is not queued or another worker holds it.

    `expected_attempt` lets the retry scheduled by attempt N take the send back at once, without
    waiting for the lease that attempt N released. A task Celery hands out again because the
    worker running it died (acks late + reject on worker lost: `redelivered`) takes over a lease
    its own first run holds: that run is dead, and waiting out its lease would only delay the
    send. An earlier attempt that claimed the send and recorded nothing is added to
    `uncertain_attempts` here: it may have reached SES."""
    now = timezone.now()
    lease_expires_at = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    started = time.monotonic()  # the lease runs from here (at the latest)
    if connection.vendor == "postgresql":
        send = _claim_and_load(
            send_id, now, lease_expires_at, expected_attempt, task_id if redelivered else None, task_id
        )
        if send is None:
            return None
    else:
        free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
        if expected_attempt is not None:
            free |= Q(attempts=expected_attempt)
        if redelivered and task_id:
            free |= Q(claimed_by=task_id)
        claimed = Send.objects.filter(free, pk=send_id, status=Send.Status.QUEUED).update(
            attempts=F("attempts") + 1, lease_expires_at=lease_expires_at, claimed_by=task_id
        )
        if not claimed:
            return None
        send = Send.objects.select_related("organisation", "content", "contact").get(pk=send_id)
    previous = send.attempts - 1
    if previous >= 1 and send.recorded_attempt < previous:
        entry = uncertain_entry(previous, now, LOST_ATTEMPT)
        logger.warning("Send %s: attempt %s %s; SES may have accepted it.", send_id, previous, LOST_ATTEMPT)
        send.uncertain_attempts = [*send.uncertain_attempts, entry]
        send.recorded_attempt = previous
        Send.objects.filter(pk=send_id, attempts=send.attempts).update(
            uncertain_attempts=send.uncertain_attempts, recorded_attempt=previous
        )
    return Claim(send_id, send.attempts, send, started)


_SEND = Columns(Send, "x")
_ORGANISATION = Columns(Organisation, "o")
_CONTENT = Columns(SendContent, "c")
_CONTACT = Columns(Contact, "ct")
_DOMAIN = Columns(Domain, "d")


def _claim_and_load(
    send_id: str,
    now: datetime,
    lease_expires_at: datetime,
    expected_attempt: int | None,
    redelivered_task_id: str | None,
    task_id: str | None,
) -> Send | None:
    """send_claim on PostgreSQL, in one round trip: the conditional UPDATE, and the claimed send
    read back with its organisation, content, contact and the From address's domain (what
    delivery_refusal checks; remembered on the send for it). The domain is joined by the part of
    the From header after its last @; delivery_refusal uses it only when that is the domain it
    parses from the header itself, and looks the domain up otherwise."""
    table = Send._meta.db_table
    free = ["lease_expires_at IS NULL", "lease_expires_at <= %s"]
    params: list[Any] = [lease_expires_at, task_id, Send._meta.pk.get_db_prep_value(send_id, connection), now]
    if expected_attempt is not None:
        free.append("attempts = %s")
        params.append(expected_attempt)
    if redelivered_task_id:
        free.append("claimed_by = %s")
        params.append(redelivered_task_id)
    domain_name = "lower(rtrim(substring(c.from_header from '[^@]*$'), '> '))"
    sql = (
        f'WITH x AS (UPDATE "{table}" SET attempts = attempts + 1, lease_expires_at = %s, claimed_by = %s '  # noqa: S608
        f"WHERE id = %s AND status = 'queued' AND ({' OR '.join(free)}) RETURNING *) "
        f"SELECT {_SEND.sql()}, {_ORGANISATION.sql()}, {_CONTENT.sql()}, {_CONTACT.sql()}, {_DOMAIN.sql()}, "
        f"{domain_name} FROM x "
        f'JOIN "{Organisation._meta.db_table}" o ON o.id = x.organisation_id '
        f'LEFT JOIN "{SendContent._meta.db_table}" c ON c.send_id = x.id '
        f'LEFT JOIN "{Contact._meta.db_table}" ct ON ct.id = x.contact_id '
        f'LEFT JOIN "{Domain._meta.db_table}" d ON d.organisation_id = x.organisation_id AND d.name = {domain_name}'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    send, organisation, content, contact, domain = read_row(
        row, connection, _SEND, _ORGANISATION, _CONTENT, _CONTACT, _DOMAIN
    )
    assert isinstance(send, Send)
    Send.organisation.field.set_cached_value(send, organisation)
    Send.contact.field.set_cached_value(send, contact)
    Send.content.related.set_cached_value(send, content)
    if content is not None:
        SendContent.send.field.set_cached_value(content, send)
        send._from_domain = (row[-1], domain)  # type: ignore[attr-defined]
    return send


def delivery_refusal(send: Send) -> str | None:
    """Why this send may no longer go out, checked again right before SES; None when it may.
    The rule for the contact is the one applied when the send was created."""
    organisation: Organisation = send.organisation
    refusal = organisation.sending_refusal(send.email)
    if refusal is not None:
        return refusal
    content: SendContent | None = getattr(send, "content", None)
    if content is None:
        return "The rendered content of this send is gone (purged); it cannot be delivered."
    senders = SenderBook()
    joined = getattr(send, "_from_domain", None)  # the claim's join (_claim_and_load)
    if joined is not None and joined[0] == domain_of(parseaddr(content.from_header)[1]):
        senders.remember_domain(organisation.pk, *joined)
    sender_refusal = senders.delivery_refusal(organisation=organisation, from_header=content.from_header)
    if sender_refusal is not None:
        return sender_refusal
    contact: Contact | None = send.contact if send.contact_id else None
    if send.contact_id and contact is None:
        return "The contact was deleted before the email went out."
    if contact is not None and not send.ignore_unsubscribe:
        return contact.opt_out_reason
    return None


def send_mark_sent(claim: Claim, *, message_id: str | None) -> None:
    """Records that SES accepted this attempt: one fact of the engagement pipeline (which also
    records a copy accepted after a newer attempt took the send over: the recipient may get two)."""
    engagement_record(
        EngagementFact(
            EngagementKind.SENT,
            timezone.now(),
            send_id=claim.send_id,
            ses_message_id=message_id or "",
            attempt=claim.attempt,
        )
    )


def send_reject(claim: Claim, *, reason: str) -> bool:
    return bool(
        Send.objects.filter(pk=claim.send_id, attempts=claim.attempt, status=Send.Status.QUEUED).update(
            status=Send.Status.REJECTED,
            rejection_reason=reason[:2000],
            lease_expires_at=None,
            recorded_attempt=claim.attempt,
        )
    )


def send_release_for_retry(claim: Claim, *, error: str, retry_at: datetime, **fields: Any) -> bool:
    """Gives the send back for a later attempt; the sweeper takes it if the retry is lost."""
    return bool(
        Send.objects.filter(pk=claim.send_id, attempts=claim.attempt, status=Send.Status.QUEUED).update(
            lease_expires_at=retry_at,
            last_error=error[:2000],
            recorded_attempt=claim.attempt,
            claimed_by=None,  # released: no redelivered task may take it before retry_at
            **fields,
        )
    )


def send_end_unconfirmed(claim: Claim, *, reason: str, resolution: str) -> bool:
    """Ends a send one of whose attempts may have reached SES: `sent` (it was handed to SES),
    without a message id, every open uncertain attempt resolved with `resolution`. Never
    `rejected`: if SES accepted it, its events still arrive and apply as usual."""
    entries = uncertain_attempts_resolved(claim.send.uncertain_attempts, resolution)
    sent_at = _first_uncertain_at(entries) or timezone.now()
    with transaction.atomic():
        updated = Send.objects.filter(pk=claim.send_id, attempts=claim.attempt, status=Send.Status.QUEUED).update(
            last_error=reason[:2000], uncertain_attempts=entries
        )
        if updated:
            engagement_record(
                EngagementFact(EngagementKind.SENT, sent_at, send_id=claim.send_id, attempt=claim.attempt)
            )
    return bool(updated)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: about 2 s, 4 s, 8 s ... capped at 10 minutes."""
    ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def sends_due_for_sweep(*, limit: int = 1000) -> list[str]:
    """Queued sends nobody is working on: their lease (or retry time) has passed, or they were
    never picked up within the grace (their task may just be waiting in the broker's queue)."""
    now = timezone.now()
    grace = timedelta(seconds=settings.DELIVERY_PICKUP_GRACE_SECONDS)
    stale = Q(lease_expires_at__isnull=True, created_at__lt=now - grace) | Q(lease_expires_at__lt=now)
    return list(
        Send.objects.filter(stale, status=Send.Status.QUEUED)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )


def build_message(send: Send, content: SendContent, *, resend_of: list[int] | None = None) -> EmailMultiAlternatives:
    """The MIME message: the sender chosen when the send was made (domains.sender), text and
    HTML parts, RFC 8058 one-click unsubscribe, our send id. The Message-ID and the SES tags
    carry the From address's domain: the organisation's own, once it has one."""
    from_header = content.from_header or settings.DEFAULT_FROM_EMAIL
    domain = domain_of(parseaddr(from_header)[1]) or "localhost"
    headers = {
        "Message-ID": f"<{send.id}@{domain}>",
        "List-Unsubscribe": f"<{unsubscribe_url(send.id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        SEND_ID_HEADER: send.id,
    }
    if resend_of:
        headers[RESEND_HEADER] = ", ".join(str(attempt) for attempt in resend_of)
    if settings.AWS_SES_CONFIGURATION_SET:
        headers["X-SES-CONFIGURATION-SET"] = settings.AWS_SES_CONFIGURATION_SET
        headers["X-SES-MESSAGE-TAGS"] = (
            f"organisation={send.organisation_id}, send_id={send.id}, template={send.template_slug}, domain={domain}"
        )
    message = EmailMultiAlternatives(
        subject=send.subject,
        body=content.text,
        from_email=from_header,
        to=[send.email],
        headers=headers,
        reply_to=[content.reply_to] if content.reply_to else None,
    )
    message.attach_alternative(content.html, "text/html")
    return message


def _end_refused(claim: Claim, reason: str) -> DeliveryResult:
    logger.info("Send %s not delivered: %s", claim.send_id, reason)
    if any(not entry.get("resolution") for entry in claim.send.uncertain_attempts):
        send_end_unconfirmed(claim, reason=f"Not sent again: {reason}", resolution=f"not resent: {reason}")
        return DeliveryResult("sent", claim.attempt)
    send_reject(claim, reason=reason)
    return DeliveryResult("rejected", claim.attempt)


def _decide_after_uncertain(claim: Claim, unresolved: list[dict[str, Any]]) -> DeliveryResult | None:
    """An earlier attempt's outcome is unknown and no SES event has settled it (an event would
    have made the send `sent`, so it could not have been claimed). Wait out the window for one,
    then apply the policy. None: go ahead and resend (the resolution is recorded first)."""
    wait_until = _parse_at(unresolved[-1]["at"]) + timedelta(seconds=settings.DELIVERY_UNCERTAIN_WAIT_SECONDS)
    now = timezone.now()
    if now < wait_until:
        send_release_for_retry(claim, error=claim.send.last_error or "", retry_at=wait_until)
        return DeliveryResult("waiting", claim.attempt, retry_in=(wait_until - now).total_seconds())
    resends = sum(1 for entry in claim.send.uncertain_attempts if entry.get("resolution", "").startswith("resent"))
    if settings.DELIVERY_UNCERTAIN_POLICY == "hold" or resends >= settings.DELIVERY_MAX_UNCERTAIN_RESENDS:
        why = (
            "DELIVERY_UNCERTAIN_POLICY is hold"
            if settings.DELIVERY_UNCERTAIN_POLICY == "hold"
            else f"it was already resent {resends} time(s) (DELIVERY_MAX_UNCERTAIN_RESENDS)"
        )
        attempts = ", ".join(str(entry["attempt"]) for entry in unresolved)
        reason = (
            f"Handed to SES, unconfirmed: SES's answer to attempt(s) {attempts} was lost and no SES event "
            f"arrived within {settings.DELIVERY_UNCERTAIN_WAIT_SECONDS} s; not sent again because {why}."
        )
        send_end_unconfirmed(claim, reason=reason, resolution=f"not resent ({why})")
        return DeliveryResult("sent", claim.attempt)
    entries = uncertain_attempts_resolved(claim.send.uncertain_attempts, f"resent as attempt {claim.attempt}")
    Send.objects.filter(pk=claim.send_id, attempts=claim.attempt).update(uncertain_attempts=entries)
    claim.send.uncertain_attempts = entries
    logger.warning("Send %s: resending as attempt %s after an unknown outcome.", claim.send_id, claim.attempt)
    return None


def _handle_failure(claim: Claim, exc: Exception) -> DeliveryResult:
    reason = _describe(exc)
    if isinstance(exc, OUTCOME_UNKNOWN_ERRORS):
        return _record_uncertain(claim, reason)
    # Surely not taken. If this attempt was a resend, nothing was resent: the attempts it was
    # resending are open again, so the attempt that does resend them is marked as a resend.
    reopened = _resend_not_made(claim.send.uncertain_attempts, claim.attempt)
    changed = reopened != claim.send.uncertain_attempts
    claim.send.uncertain_attempts = reopened
    may_have_gone_out = bool(claim.send.uncertain_attempts)
    if _is_permanent(exc):
        logger.info("Send %s rejected by the email backend: %s", claim.send_id, reason)
        earlier = " (an earlier attempt's outcome is unknown: see uncertainAttempts)" if may_have_gone_out else ""
        send_reject(claim, reason=f"Rejected by SES: {reason}{earlier}")
        return DeliveryResult("rejected", claim.attempt)
    if claim.attempt >= settings.DELIVERY_MAX_ATTEMPTS:
        logger.warning("Send %s gave up after %s attempts: %s", claim.send_id, claim.attempt, reason)
        if may_have_gone_out:
            send_end_unconfirmed(
                claim,
                reason=f"Handed to SES, unconfirmed: an earlier attempt's answer was lost; attempt "
                f"{claim.attempt}, the last allowed, failed: {reason}",
                resolution="not resent (out of attempts)",
            )
            return DeliveryResult("sent", claim.attempt)
        send_reject(claim, reason=f"Gave up after {claim.attempt} attempts; last error: {reason}")
        return DeliveryResult("rejected", claim.attempt)
    delay = retry_delay(claim.attempt)
    logger.info("Send %s attempt %s failed (%s); retrying in %.1fs", claim.send_id, claim.attempt, reason, delay)
    send_release_for_retry(
        claim,
        error=f"Attempt {claim.attempt}: {reason}",
        retry_at=timezone.now() + timedelta(seconds=delay),
        **({"uncertain_attempts": reopened} if changed else {}),
    )
    return DeliveryResult("retry", claim.attempt, retry_in=delay)


def _resend_not_made(entries: list[dict[str, Any]], attempt: int) -> list[dict[str, Any]]:
    """The list with the entries resolved as resent by `attempt` open again (that attempt never
    reached SES)."""
    resent = f"resent as attempt {attempt}"
    return [{**entry, "resolution": ""} if entry.get("resolution") == resent else entry for entry in entries]


def _record_uncertain(claim: Claim, reason: str) -> DeliveryResult:
    """SES may have accepted this attempt: record it, and wait for SES's event before anything else."""
    now = timezone.now()
    logger.warning(
        "Send %s attempt %s: outcome unknown (%s); SES may have accepted it.", claim.send_id, claim.attempt, reason
    )
    entries = [*claim.send.uncertain_attempts, uncertain_entry(claim.attempt, now, reason)]
    # With no event stream to wait for, still leave SES a moment (it may be the one in trouble).
    wait = max(float(settings.DELIVERY_UNCERTAIN_WAIT_SECONDS), retry_delay(claim.attempt))
    _write_until_lease_ends(
        claim,
        lambda: send_release_for_retry(
            claim,
            error=f"Attempt {claim.attempt}: outcome unknown: {reason}",
            retry_at=now + timedelta(seconds=wait),
            uncertain_attempts=entries,
        ),
    )
    return DeliveryResult("uncertain", claim.attempt, retry_in=wait)


T = TypeVar("T")


def _write_until_lease_ends(claim: Claim, write: Callable[[], T]) -> T:
    """Runs a write that must not be lost, retrying on a fresh connection while the lease lasts
    (a database failover or a dropped idle connection takes seconds). If it still fails, the
    error propagates: the next attempt finds this one unrecorded and treats it as uncertain."""
    deadline = claim.claimed_at + settings.DELIVERY_LEASE_SECONDS - 1
    pause = 0.1
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + pause >= deadline:
                logger.error("Send %s: could not record attempt %s: %s", claim.send_id, claim.attempt, exc)
                raise
            logger.warning("Send %s: recording attempt %s failed (%s); retrying", claim.send_id, claim.attempt, exc)
            if not connection.in_atomic_block:
                connection.close()  # the next query opens a new connection
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _first_uncertain_at(entries: list[dict[str, Any]]) -> datetime | None:
    return min((_parse_at(entry["at"]) for entry in entries), default=None)


def _parse_at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in PERMANENT_SES_ERRORS
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"

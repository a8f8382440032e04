"""The only writers of domains and sender settings."""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.identity import IdentityState, dns_records, identity_service
from domains.models import Domain, SenderSettings
from domains.sender import SenderBook
from kraiter.emails import normalise_email
from kraiter.errors import Conflict, Forbidden, InvalidInput
from kraiter.models import Organisation

logger = logging.getLogger("kraiter.domains")

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def normalise_domain(value: str) -> str:
    """A domain name as stored: trimmed, lower-case, IDNA-encoded; InvalidInput for anything else."""
    text = value.strip().rstrip(".").lower()
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        shown = value.encode("unicode_escape").decode("ascii")[:100]
        raise InvalidInput(f"'{shown}' is not a domain name (like mail.example.com).", details={"domain": ["Invalid."]})
    return ascii_name


def domain_add(*, organisation: Organisation, name: str) -> Domain:
    """Adds a domain `pending`, with the DNS records its owner publishes: the identity is created
    in the identity service (SES v2, Easy DKIM) in the same transaction. Conflict when the domain
    is already added, by this or any other organisation (the message does not say which)."""
    name = normalise_domain(name)
    now = timezone.now()
    try:
        with transaction.atomic():
            domain = Domain.objects.create(organisation=organisation, name=name)
            state = identity_service().create(name)
            domain.dns_records = dns_records(name, state.dkim_tokens)
            _record(domain, state, now, counted=False)
            domain.save()
    except IntegrityError:
        raise Conflict(f"The domain {name} has already been added.") from None
    return domain


def domain_verify(*, domain: Domain) -> Domain:
    """POST /api/domains/:id/verify: asks the identity service now and records its answer."""
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        _record(locked, identity_service().check(locked.name, asked=True), timezone.now())
        locked.save()
    return locked


def domain_delete(*, domain: Domain) -> None:
    """Removes the domain and its identity; mail from it is refused from now on."""
    with transaction.atomic():
        identity_service().delete(domain.name)
        domain.delete()


def domains_check_due(*, limit: int = 50) -> int:
    """The beat task: asks the identity service about the domains whose check is due (pending
    ones with backoff, verified ones now and then), one locked row at a time. Returns how many."""
    now = timezone.now()
    due = list(
        Domain.objects.filter(next_check_at__lte=now).order_by("next_check_at").values_list("pk", flat=True)[:limit]
    )
    checked = 0
    for pk in due:
        with transaction.atomic():
            domain = Domain.objects.select_for_update(skip_locked=True).filter(pk=pk, next_check_at__lte=now).first()
            if domain is None:
                continue  # another beat took it, or it was deleted
            try:
                state = identity_service().check(domain.name, asked=False)
            except Exception as exc:  # an unreachable SES must not stop the others' checks
                logger.warning("Domain %s: the identity service failed: %s", domain.name, exc)
                domain.next_check_at = now + _backoff(domain.checks)
                domain.checks += 1
            else:
                _record(domain, state, now)
            domain.save()
            checked += 1
    return checked


def _record(domain: Domain, state: IdentityState, now: datetime, *, counted: bool = True) -> None:
    """Applies the identity service's answer: verified, failed (sending stops, with the reason)
    or still pending (checked again later, further apart each time)."""
    if counted:
        domain.last_checked_at = now
        domain.checks += 1
    if state.status == Domain.Status.VERIFIED:
        if domain.status != Domain.Status.VERIFIED:
            domain.verified_at = now
        domain.status, domain.sending_enabled, domain.failure_reason = state.status, state.sending_enabled, None
        domain.next_check_at = now + timedelta(seconds=settings.DOMAIN_RECHECK_VERIFIED_SECONDS)
    elif state.status == Domain.Status.FAILED:
        if domain.status == Domain.Status.VERIFIED:
            logger.warning("Domain %s failed after being verified: %s", domain.name, state.reason)
        domain.status, domain.sending_enabled, domain.failure_reason = state.status, False, state.reason
        domain.next_check_at = None  # final: only a person asking (verify) checks it again
    else:
        domain.status, domain.sending_enabled, domain.failure_reason = state.status, False, state.reason
        domain.next_check_at = now + _backoff(domain.checks)


def _backoff(checks: int) -> timedelta:
    """1, 2, 4 ... minutes between checks of a pending domain, at most DOMAIN_CHECK_MAX_SECONDS."""
    return timedelta(seconds=min(settings.DOMAIN_CHECK_BASE_SECONDS * 2**checks, settings.DOMAIN_CHECK_MAX_SECONDS))


def sender_settings_update(
    *, organisation: Organisation, from_name: str, from_email: str, reply_to: str
) -> SenderSettings:
    """Sets the organisation's default sender. The From address must be on one of its verified,
    sending-enabled domains (Forbidden otherwise); Reply-To may be any address."""
    from_email = normalise_email(from_email) if from_email.strip() else ""
    reply_to = normalise_email(reply_to) if reply_to.strip() else ""
    if from_email:
        refusal = SenderBook().refusal(organisation=organisation, address=from_email)
        if refusal is not None:
            raise Forbidden(refusal)
    sender, _ = SenderSettings.objects.update_or_create(
        organisation=organisation,
        defaults={"from_name": from_name.strip()[:200], "from_email": from_email, "reply_to": reply_to},
    )
    return sender

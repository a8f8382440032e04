"""Who an email is from: the send's own `from`/`replyTo`, else the template's, else the
organisation's sender settings, else (only where the operator allows it, ALLOW_DEFAULT_SENDER)
the operator's DEFAULT_FROM_EMAIL. A From address must be on a verified, sending-enabled domain
of the sending organisation: anything else is Forbidden (POST /api/send's 403), so no tenant
mails as a domain it has not proved it owns.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

from django.conf import settings

from domains.models import Domain, SenderSettings
from kraiter.emails import normalise_email
from kraiter.errors import Forbidden, InvalidInput
from kraiter.models import Organisation


@dataclass(frozen=True)
class SenderChoice:
    """One layer's choices (a send's, a template's, the organisation's); empty: not chosen."""

    name: str = ""
    email: str = ""
    reply_to: str = ""


@dataclass(frozen=True)
class Sender:
    from_header: str  # `Name <address>`, ready for the From header
    reply_to: str  # empty: no Reply-To header
    domain: str  # the From address's domain: the Message-ID's and the SES tags' domain

    @property
    def address(self) -> str:
        return parseaddr(self.from_header)[1]


def parse_from(value: str) -> SenderChoice:
    """`Name <address>` or a bare address (POST /api/send's `from`); InvalidInput otherwise."""
    if any(ord(ch) < 32 for ch in value):
        raise InvalidInput("'from' must be one line.", details={"from": ["Must be one line."]})
    name, address = parseaddr(value)
    if not address or ("<" in value) != (">" in value):
        raise InvalidInput(f"'from' is not an address: '{value[:100]}'.", details={"from": ["Not an address."]})
    return SenderChoice(name=name.strip()[:200], email=normalise_email(address))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass
class SenderBook:
    """Resolves senders, remembering each organisation's settings and domains it looked up:
    a batch of sends (the dispatcher's) costs one query per organisation and domain, not per send."""

    _settings: dict[str, SenderSettings | None] = field(default_factory=dict)
    _domains: dict[tuple[str, str], Domain | None] = field(default_factory=dict)
    _resolved: dict[tuple[str, tuple[SenderChoice, ...]], Sender | str] = field(default_factory=dict)

    def resolve(self, *, organisation: Organisation, layers: Sequence[SenderChoice] = ()) -> Sender:
        """The sender of an email of `organisation`, `layers` first (the send's, the template's).
        Forbidden when the From address is not on a domain this organisation may send from.
        Remembered: a batch's sends of one template resolve once."""
        key = (organisation.pk, tuple(layers))
        found = self._resolved.get(key)
        if found is None:
            try:
                found = self._resolve(organisation, layers)
            except Forbidden as exc:
                found = exc.message
            self._resolved[key] = found
        if isinstance(found, str):
            raise Forbidden(found)
        return found

    def _resolve(self, organisation: Organisation, layers: Sequence[SenderChoice]) -> Sender:
        own = self.settings_of(organisation)
        if own is not None:
            layers = [*layers, SenderChoice(own.from_name, own.from_email, own.reply_to)]
        name = next((layer.name for layer in layers if layer.name), "")
        email = next((layer.email for layer in layers if layer.email), "")
        reply_to = next((layer.reply_to for layer in layers if layer.reply_to), "")
        if not email:
            refusal = default_sender_refusal()
            if refusal is not None:
                raise Forbidden(refusal)
            default_name, email = parseaddr(settings.DEFAULT_FROM_EMAIL)
            name = name or default_name
        else:
            refusal = self.refusal(organisation=organisation, address=email)
            if refusal is not None:
                raise Forbidden(refusal)
        return Sender(formataddr((name, email)), reply_to, domain_of(email))

    def refusal(self, *, organisation: Organisation, address: str) -> str | None:
        """Why `organisation` may not send from `address` now; None when it may. Also checked
        right before delivery: a domain that failed since the send was made stops its mail."""
        if address.lower() == operator_address().lower():
            return default_sender_refusal()
        name = domain_of(address)
        key = (organisation.pk, name)
        if key not in self._domains:
            self._domains[key] = Domain.objects.filter(organisation=organisation, name=name).first()
        domain = self._domains[key]
        if domain is None:
            return (
                f"{address} is not on a domain of this organisation: add {name} (POST /api/domains) "
                f"and verify it before sending from it."
            )
        if domain.status != Domain.Status.VERIFIED or not domain.sending_enabled:
            why = f": {domain.failure_reason}" if domain.failure_reason else ""
            return f"The domain {name} may not send ({domain.status}{why}); verify it before sending from {address}."
        return None

    def delivery_refusal(self, *, organisation: Organisation, from_header: str) -> str | None:
        """Right before delivery: a From domain that failed, or was deleted, since the send was
        made stops its mail. The operator's default sender was allowed or not when the send was
        made (ALLOW_DEFAULT_SENDER is a rule for making sends), so it is not judged again."""
        address = parseaddr(from_header)[1]
        if not address or address.lower() == operator_address().lower():
            return None
        return self.refusal(organisation=organisation, address=address)

    # Lookups another query already made (the send service's template query, delivery's claim).
    def remember_settings(self, organisation_id: str, settings: SenderSettings | None) -> None:
        self._settings[organisation_id] = settings

    def remember_domain(self, organisation_id: str, name: str, domain: Domain | None) -> None:
        """`domain`: the organisation's Domain row named `name`, None when it has none."""
        self._domains[(organisation_id, name)] = domain

    def settings_of(self, organisation: Organisation) -> SenderSettings | None:
        if organisation.pk not in self._settings:
            self._settings[organisation.pk] = SenderSettings.objects.filter(organisation=organisation).first()
        return self._settings[organisation.pk]


def operator_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def default_sender_refusal() -> str | None:
    """Why an organisation may not send as the operator's DEFAULT_FROM_EMAIL; None when it may."""
    if settings.ALLOW_DEFAULT_SENDER:
        return None
    return (
        "This organisation has no sender address: add a domain (POST /api/domains), verify it, and "
        "set a From address on it (the template's fromEmail, the send's from, or the organisation's "
        "sender settings). This server does not send as its own default sender."
    )

"""The only writers of sends: creating them (transactional and from sequences) and enqueueing delivery.

Delivery's own writes live in sends.delivery; engagement events in sends.engagement.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contacts.models import OPT_OUT_REASONS, Contact
from contacts.services import contact_get_or_create
from domains.models import Domain, SenderSettings
from domains.sender import SenderBook, SenderChoice, domain_of
from kraiter.api.ids import new_id
from kraiter.errors import NotFound, Unprocessable
from kraiter.models import Organisation
from kraiter.rows import Columns, read_row
from kraiter.statements import save_new
from sends.models import Send, SendContent
from sends.tasks import send_enqueue_delivery
from templates_app.models import Template
from templates_app.rendering import Recipient, render_email
from templates_app.selectors import require_template_id, template_get

logger = logging.getLogger("kraiter.sends")


@dataclass(frozen=True)
class NewSend:
    """A rendered send, not yet saved (the dispatcher saves many at once). A rejected send has
    no content."""

    send: Send
    content: SendContent | None


@dataclass(frozen=True)
class SendOrigin:
    """Where a send comes from: POST /api/send, or a sequence enrolment's step."""

    source: str = Send.Source.TRANSACTIONAL
    source_id: str | None = None
    step: int | None = None
    enrolment_id: str | None = None
    scheduled_id: str | None = None  # the scheduled send it came from: at most one send each


TRANSACTIONAL = SendOrigin()


def send_build(
    *,
    organisation: Organisation,
    contact: Contact,
    template: Template,
    variables: Mapping[str, Any],
    origin: SendOrigin = TRANSACTIONAL,
    created_at: datetime | None = None,
    sender: SenderChoice | None = None,
    senders: SenderBook | None = None,
) -> NewSend:
    """Renders the template for the contact (with this send's own unsubscribe link) and picks
    its sender: `sender` (the send's own), the template's, the organisation's (domains.sender).
    Raises TemplateError (a 422) when rendering hits a sandbox limit, Forbidden (a 403) when the
    From address is not on a domain the organisation may send from. `senders` remembers lookups
    across a batch. `created_at` backdates a send (demo history); its id carries that time too."""
    layers = [SenderChoice(template.from_name, template.from_email, template.reply_to)]
    chosen = (senders or SenderBook()).resolve(organisation=organisation, layers=[*filter(None, [sender]), *layers])
    send_id = new_id("snd", at=created_at)
    rendered = render_email(template, recipient=Recipient.of(contact), variables=variables, send_id=send_id)
    send = _send_row(send_id, organisation, contact, template.slug, template.name, rendered.subject, origin)
    send.created_at = created_at or send.created_at
    content = SendContent(
        send=send, html=rendered.html, text=rendered.text, from_header=chosen.from_header, reply_to=chosen.reply_to
    )
    return NewSend(send, content)


def send_build_rejected(
    *,
    organisation: Organisation,
    contact: Contact,
    template_slug: str,
    template_name: str,
    subject: str,
    reason: str,
    origin: SendOrigin = TRANSACTIONAL,
) -> NewSend:
    """A send that is refused before delivery, recorded so the log shows why."""
    send = _send_row(new_id("snd"), organisation, contact, template_slug, template_name, subject, origin)
    send.status, send.rejection_reason = Send.Status.REJECTED, reason
    return NewSend(send, None)


def _send_row(
    send_id: str,
    organisation: Organisation,
    contact: Contact,
    template_slug: str,
    template_name: str,
    subject: str,
    origin: SendOrigin,
) -> Send:
    return Send(
        id=send_id,
        organisation=organisation,
        contact=contact,
        email=contact.email,
        template_slug=template_slug,
        template_name=template_name,
        subject=subject,
        source=origin.source,
        source_id=origin.source_id,
        step=origin.step,
        enrolment_id=origin.enrolment_id,
        scheduled_id=origin.scheduled_id,
        created_at=timezone.now(),
    )


def send_save_many(news: list[NewSend], *, deliver: bool = True, commit: bool = False) -> None:
    """Inserts sends (with their content) in bulk and enqueues the queued ones after commit.
    `deliver=False` records history without mailing anyone (seed_demo). `commit`: the insert is
    the last statement of the caller's transaction (kraiter.statements.Statements.run)."""
    # One statement for the sends and their contents on PostgreSQL, by hand (kraiter.rows):
    # building two ORM INSERTs cost more CPU than PostgreSQL spends on them.
    save_new([new.send for new in news], [new.content for new in news if new.content is not None], commit=commit)
    if deliver:
        send_enqueue_delivery([new.send.id for new in news if new.send.status == Send.Status.QUEUED])


def send_transactional(
    *,
    organisation: Organisation,
    to: str,
    template_id: str,
    variables: Mapping[str, Any],
    ignore_unsubscribe: bool = False,
    sender: SenderChoice | None = None,
) -> Send:
    """POST /api/send. Returns the queued send, or a `rejected` one (recorded so the log shows why)
    when the contact is suppressed or unsubscribed and `ignore_unsubscribe` is not set. Forbidden,
    and nothing recorded, when the From address (`sender`'s, the template's or the organisation's)
    is not on a verified, sending-enabled domain of the organisation."""
    senders = SenderBook()
    template = _template_and_sender(organisation, template_id, sender, senders)
    if organisation.sending_status == organisation.SendingStatus.PAUSED:
        raise Unprocessable("Sending is paused for this organisation; contact support.")
    with transaction.atomic():
        contact, _ = contact_get_or_create(organisation=organisation, email=to)
        new = send_build(
            organisation=organisation,
            contact=contact,
            template=template,
            variables=variables,
            sender=sender,
            senders=senders,
        )
        new.send.ignore_unsubscribe = ignore_unsubscribe  # delivery checks the contact again, by the same rule
        refusal = organisation.sending_refusal(contact.email)
        if refusal is None and not ignore_unsubscribe:
            refusal = contact.opt_out_reason
        if refusal is not None:
            new = send_build_rejected(
                organisation=organisation,
                contact=contact,
                template_slug=template.slug,
                template_name=template.name,
                subject=new.send.subject,
                reason=refusal,
            )
        send_save_many([new], commit=True)  # the block's last statement: where it is the outermost, COMMIT rides along
    return new.send


_TEMPLATE = Columns(Template, "t")
_SENDER_SETTINGS = Columns(SenderSettings, "s")
_DOMAIN = Columns(Domain, "d")


def _template_and_sender(
    organisation: Organisation, template_id: str, sender: SenderChoice | None, senders: SenderBook
) -> Template:
    """template_get, and (on PostgreSQL) in the same round trip what the sender's resolution
    reads: the organisation's sender settings and the domain of the From address the layers
    choose (the send's own, the template's, the settings'), remembered in `senders`. The domain
    is the one SenderBook would look up: the SQL's choice is checked against Python's, and on
    any difference SenderBook queries it itself."""
    if connection.vendor != "postgresql":
        return template_get(organisation=organisation, template_id=template_id)
    require_template_id(template_id)
    own = sender.email if sender is not None else ""
    chosen = "COALESCE(NULLIF(%s, ''), NULLIF(t.from_email, ''), NULLIF(s.from_email, ''), '')"
    sql = (
        f"SELECT {_TEMPLATE.sql()}, {_SENDER_SETTINGS.sql()}, {_DOMAIN.sql()}, "  # noqa: S608
        f"lower(substring({chosen} from '[^@]*$')) "
        f'FROM "{Template._meta.db_table}" t '
        f'LEFT JOIN "{SenderSettings._meta.db_table}" s ON s.organisation_id = t.organisation_id '
        f'LEFT JOIN "{Domain._meta.db_table}" d ON d.organisation_id = t.organisation_id '
        f"AND d.name = lower(substring({chosen} from '[^@]*$')) "
        "WHERE t.organisation_id = %s AND t.slug = %s"
    )
    organisation_key = Organisation._meta.pk.get_db_prep_value(organisation.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [own, own, organisation_key, template_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"No template '{template_id}'.")
    template, own_settings, domain = read_row(row, connection, _TEMPLATE, _SENDER_SETTINGS, _DOMAIN)
    assert template is not None
    template.organisation = organisation
    senders.remember_settings(organisation.pk, own_settings)
    email = own or template.from_email or (own_settings.from_email if own_settings is not None else "")
    if email and domain_of(email) == row[-1]:
        senders.remember_domain(organisation.pk, row[-1], domain)
    return template


def send_refusal_message(send: Send) -> str:
    """What POST /api/send answers (422) for a send it recorded as rejected."""
    message = f"{send.rejection_reason} Send {send.id} was recorded as rejected"
    if send.rejection_reason in OPT_OUT_REASONS:
        return f"{message}; set ignoreUnsubscribe to send legally required mail anyway."
    return f"{message}."


def send_contents_purge(*, send_ids: list[str]) -> int:
    """Drops the stored bodies of these sends (retention); the log rows stay."""
    deleted, _ = SendContent.objects.filter(send_id__in=send_ids).delete()
    return deleted

"""The engagement pipeline: every fact about a send after it was created goes through
`engagement_record`, in one transaction with all its consequences.

Where facts come from (each a single call of engagement_record):
  delivery (sends.delivery)            SENT, when SES accepted an attempt
  SES events (sends.engagement.ses)    SENT, DELIVERED, OPENED, CLICKED, BOUNCED, COMPLAINED,
                                       REJECTED, DELAYED, from django-ses's signals
  our pixel and links (.tracking)      OPENED, CLICKED
  unsubscribe links (.unsubscribe)     UNSUBSCRIBED (one-click POST and the page's button)

What one call does, in this order, under the send's row lock:
  1. the send's status and first timestamps (`_apply`: the rules below);
  2. the rollups of each first timestamp (rollups.rollup_record; a late earlier one moves it);
  3. the contact's state: suppressed on a permanent bounce or a complaint, unsubscribed on an
     unsubscribe (contacts' services; their opt-out cancels the contact's scheduled sends);
  4. the system event `email.<kind>` on the contact's timeline, with sendId, templateId, source
     and sourceId (and the url, the bounce's type, subtype and diagnostic): every open and
     click, and the first of each other kind. Higher layers react to events by reading them
     (scheduling.reactions: sequence triggers and exits); nothing here calls up to them.

The rules (docs/api.md, "Sends"), made to hold whatever order and however often facts arrive:
- Each timestamp is the time of the first fact of its kind, by fact time: an earlier fact
  arriving late moves it earlier, a duplicate or a later one changes nothing.
- Status only moves forward along queued → sent → delivered → bounced → complained, and
  rejected ends everything. It is the furthest status any fact reached, so a delivery that
  arrives after a bounce leaves the send bounced. (A complaint about a bounced send is the one
  move between the two final states: the complaint is the stronger signal.)
- Opens and clicks set timestamps but never change the status; a click implies an open.
- A fact about the message from SES for a send whose attempt's outcome was lost (still queued,
  or rejected after an attempt) proves SES accepted it: the send is sent, with SES's id, and
  delivery makes no further attempt (sends.delivery).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db import connection, transaction

from contacts.models import Contact
from contacts.services import contact_suppress, contact_unsubscribe_address, event_record_system
from kraiter.api.ids import is_valid_id
from kraiter.rows import Columns
from kraiter.statements import Statement, Statements, first_rows, update_statement
from sends.attempts import uncertain_attempts_resolved, uncertain_entry
from sends.engagement import rollups
from sends.models import EngagementKind, Send

logger = logging.getLogger("kraiter.engagement")
Kind = EngagementKind

_RANK = {
    Send.Status.QUEUED: 0,
    Send.Status.SENT: 1,
    Send.Status.DELIVERED: 2,
    Send.Status.BOUNCED: 3,
    Send.Status.COMPLAINED: 4,
    Send.Status.REJECTED: 5,
}
# kind → (the send's timestamp it sets, the status it moves the send to)
_EFFECTS: dict[EngagementKind, tuple[str | None, str | None]] = {
    Kind.SENT: ("sent_at", Send.Status.SENT),
    Kind.DELIVERED: ("delivered_at", Send.Status.DELIVERED),
    Kind.OPENED: ("opened_at", None),
    Kind.CLICKED: ("clicked_at", None),
    Kind.BOUNCED: ("bounced_at", Send.Status.BOUNCED),
    Kind.COMPLAINED: ("complained_at", Send.Status.COMPLAINED),
    Kind.UNSUBSCRIBED: (None, None),
    Kind.REJECTED: (None, Send.Status.REJECTED),
    Kind.DELAYED: (None, None),
}
# Kinds whose every occurrence is an event (the others: the first one for the send).
_EVERY_TIME = frozenset({Kind.OPENED, Kind.CLICKED})

Outcome = Literal["applied", "unchanged", "no_send", "not_claimed"]


@dataclass(frozen=True)
class EngagementFact:
    """One normalised fact about a send, whatever told us."""

    kind: EngagementKind
    at: datetime
    send_id: str | None = None  # ours, when the source carries it
    ses_message_id: str = ""  # SES's id: finds the send when ours is absent; recorded when confirmed
    attempt: int | None = None  # SENT from delivery: the attempt SES accepted
    permanent: bool = False  # BOUNCED: a permanent (hard) bounce
    detail: str = ""  # a rejection's reason, a delay's type
    url: str = ""  # CLICKED: the link
    bounce: dict[str, str] = field(default_factory=dict)  # BOUNCED: bounceType, bounceSubType, diagnosticCode


def engagement_record(fact: EngagementFact, *, savepoint: bool = True, claim: Statement | None = None) -> Outcome:
    """Applies one fact to its send and records its consequences, in one transaction:
    "applied" when anything changed, "unchanged" for a duplicate or a later fact of a kind
    already seen, "no_send" when no send of ours matches. A caller that holds a transaction of
    its own and lets every exception out may pass `savepoint=False` (no savepoint is made).

    `claim` is a statement of the caller's, run first and in the same round trip as the send's
    read (the SES intake stores its notification so, sends.engagement.ses): when it returns no
    row, nothing is applied ("not_claimed").

    The send is read and locked in one query (with whether its contact still exists); the
    writes that follow (the send's columns, the rollups and their lock, the event) are queued
    and sent in one round trip (kraiter.statements), except around a change of the contact's
    state, which goes through contacts' services (and their signal) as it is. Called outside
    any transaction, that is the whole of it: BEGIN rides on the read, COMMIT on the writes."""
    with transaction.atomic(savepoint=savepoint):
        claimed, send = _locked_send(fact, claim)
        if not claimed:
            return "not_claimed"
        if send is None:
            return "no_send"
        writes = Statements()
        changes, firsts = _apply(send, fact)
        if changes:
            writes.add(*update_statement(Send, send.pk, changes))
        for kind, at, previous_at in firsts:
            rollups.rollup_record(send=send, kind=kind, at=at, previous_at=previous_at, statements=writes)
        contact_changed = False
        if _changes_contact(send, fact):
            writes.run()  # in order: the send's writes before the contact's services run
            contact_changed = _contact_consequences(send, fact)
        if contact_changed and fact.kind == Kind.UNSUBSCRIBED:
            rollups.rollup_record(send=send, kind=Kind.UNSUBSCRIBED, at=fact.at, previous_at=None, statements=writes)
        recorded_kinds = {kind for kind, _at, previous in firsts if previous is None}
        if send.contact_id and (
            fact.kind in _EVERY_TIME
            or fact.kind in recorded_kinds
            or (contact_changed and fact.kind == Kind.UNSUBSCRIBED)
        ):
            _record_event(send, fact, writes)
        if Kind.OPENED in recorded_kinds and fact.kind == Kind.CLICKED:
            # a click implies an open
            _record_event(send, EngagementFact(Kind.OPENED, fact.at, send_id=send.id), writes)
        writes.run(commit=True)  # the block's last statements: where this block is the outermost, COMMIT rides along
    return "applied" if changes or contact_changed else "unchanged"


def _locked_send(fact: EngagementFact, claim: Statement | None) -> tuple[bool, Send | None]:
    """Whether `claim` (if any) returned a row, and the fact's send, locked: by our id, else by
    SES's message id; `contact_exists` says whether its contact is still there (a deleted
    contact's timeline went with it). One round trip with the claim, written out: the ORM's
    compiling of it was a good part of a notification's Python."""
    lookups = []
    if fact.send_id and is_valid_id(fact.send_id, "snd"):
        lookups.append(("id", _SEND_ID.get_db_prep_value(fact.send_id, connection)))
    if fact.ses_message_id:
        lookups.append(("ses_message_id", fact.ses_message_id))
    claimed = True
    for column, value in lookups:
        if claim is not None:
            claim_row, row = first_rows(claim, _lock_query(column, value))
            claimed, claim = claim_row is not None, None
        else:
            row = first_rows(_lock_query(column, value))[0]
        if row is not None or not claimed:
            return claimed, _send_from(row)
    if claim is not None:
        claimed = first_rows(claim)[0] is not None
    return claimed, None


_SEND_ID: Any = Send._meta.pk
_SEND = Columns(Send, f'"{Send._meta.db_table}"')


def _lock_query(column: str, value: Any) -> Statement:
    table, contacts = Send._meta.db_table, Contact._meta.db_table
    sql = (
        f'SELECT {_SEND.sql()}, EXISTS (SELECT 1 FROM "{contacts}" WHERE "{contacts}"."id" = "{table}"."contact_id") '
        f'AS contact_exists FROM "{table}" WHERE "{table}"."{column}" = %s ORDER BY "{table}"."id" LIMIT 1'
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql, [value]


def _send_from(row: tuple[Any, ...] | None) -> Send | None:
    send = _SEND.read(row, 0, connection) if row is not None else None
    if send is not None:
        send.contact_exists = bool(row[_SEND.width])  # type: ignore[attr-defined,index]
    return send


def _apply(
    send: Send, fact: EngagementFact
) -> tuple[dict[str, Any], list[tuple[EngagementKind, datetime, datetime | None]]]:
    """The send's new column values, and each first timestamp set (kind, at, the one it replaced)."""
    changes: dict[str, Any] = {}
    firsts: list[tuple[EngagementKind, datetime, datetime | None]] = []

    def earliest(kind: EngagementKind, column: str) -> None:
        previous = getattr(send, column)
        if previous is None or previous > fact.at:
            changes[column] = fact.at
            setattr(send, column, fact.at)
            firsts.append((kind, fact.at, previous))

    if fact.kind == Kind.SENT and fact.attempt is not None:
        _delivery_accepted(send, fact, changes)
    elif fact.kind not in (Kind.REJECTED, Kind.UNSUBSCRIBED) and _attempted_without_record(send):
        # Proof that SES has the message, for a send whose attempt did not record it (its answer
        # or its worker was lost): it is sent, with SES's id, and no further attempt follows.
        changes.update(_confirmed_by_ses(send, fact))
        send.status = Send.Status.SENT
        earliest(Kind.SENT, "sent_at")  # the proof dates it too, when nothing else did
    column, status = _EFFECTS[fact.kind]
    if column:
        earliest(fact.kind, column)
    if fact.kind == Kind.CLICKED:
        earliest(Kind.OPENED, "opened_at")
    if status and _RANK[Send.Status(send.status)] < _RANK[Send.Status(status)]:
        changes["status"] = send.status = status
        if status == Send.Status.REJECTED:
            changes["rejection_reason"] = (fact.detail or "Rejected by SES.")[:2000]
    if fact.kind == Kind.DELAYED:
        changes["last_error"] = f"Delivery delayed: {fact.detail}"[:2000]
    return changes, firsts


def _delivery_accepted(send: Send, fact: EngagementFact, changes: dict[str, Any]) -> None:
    """Delivery's own SENT: normally the attempt that holds the send. An attempt that lost the
    send to a newer one (its lease ran out), or whose send an SES event already settled, still
    had its copy accepted: that copy is recorded, since the recipient may get two."""
    if send.status == Send.Status.QUEUED and send.attempts == fact.attempt:
        changes.update(
            status=Send.Status.SENT,
            ses_message_id=fact.ses_message_id or None,
            lease_expires_at=None,
            recorded_attempt=fact.attempt,
        )
        send.status, send.ses_message_id = Send.Status.SENT, fact.ses_message_id or None
        return
    if send.attempts == fact.attempt:
        note = f"SES accepted it (message id {fact.ses_message_id}); the send was already {send.status} by then"
    else:
        note = (
            f"SES accepted it (message id {fact.ses_message_id}) after attempt {send.attempts} had taken the send over"
        )
    logger.error("Send %s attempt %s: %s; the recipient may receive it twice.", send.id, fact.attempt, note)
    changes["uncertain_attempts"] = [
        *send.uncertain_attempts,
        uncertain_entry(fact.attempt or 0, fact.at, note, "accepted"),
    ]
    if send.status == Send.Status.QUEUED:
        changes.update(status=Send.Status.SENT, ses_message_id=fact.ses_message_id or None, lease_expires_at=None)
        send.status = Send.Status.SENT


def _attempted_without_record(send: Send) -> bool:
    """Attempted, and still queued or rejected: the fact means one of its attempts got through."""
    return send.attempts > 0 and send.status in (Send.Status.QUEUED, Send.Status.REJECTED)


def _confirmed_by_ses(send: Send, fact: EngagementFact) -> dict[str, Any]:
    resolution = f"confirmed: the message was reported {fact.kind.value}"
    fields: dict[str, Any] = {
        "status": Send.Status.SENT,
        "lease_expires_at": None,
        "recorded_attempt": send.attempts,
        "uncertain_attempts": uncertain_attempts_resolved(send.uncertain_attempts, resolution),
    }
    if fact.ses_message_id and not send.ses_message_id:
        fields["ses_message_id"] = send.ses_message_id = fact.ses_message_id
    if send.status == Send.Status.REJECTED:
        fields["rejection_reason"] = None
        fields["last_error"] = f"Was rejected ({send.rejection_reason}); then SES reported it {fact.kind.value}."[:2000]
    return fields


def _changes_contact(send: Send, fact: EngagementFact) -> bool:
    """Whether the fact may change the contact's state (what _contact_consequences handles)."""
    return fact.kind in (Kind.UNSUBSCRIBED, Kind.COMPLAINED) or (fact.kind == Kind.BOUNCED and fact.permanent)


def _contact_consequences(send: Send, fact: EngagementFact) -> bool:
    """The contact's state the fact changes; True when it changed."""
    if fact.kind == Kind.UNSUBSCRIBED:
        # The address the email went to, not the contact row it went to (it may be a new one).
        return contact_unsubscribe_address(organisation=send.organisation_id, email=send.email, at=fact.at) is not None
    if fact.kind == Kind.COMPLAINED or (fact.kind == Kind.BOUNCED and fact.permanent):
        contact = Contact.objects.filter(pk=send.contact_id).first() if send.contact_id else None
        if contact is not None and not contact.suppressed:
            reason = (
                Contact.SuppressionReason.COMPLAINED
                if fact.kind == Kind.COMPLAINED
                else Contact.SuppressionReason.BOUNCED
            )
            contact_suppress(contact=contact, reason=reason)
            return True
    return False


def _record_event(send: Send, fact: EngagementFact, writes: Statements) -> None:
    if send.contact_id is None or not getattr(send, "contact_exists", True):
        return  # the contact was deleted: its timeline went with it
    properties: dict[str, Any] = {
        "sendId": send.id,
        "templateId": send.template_slug,
        "source": send.source,
        "sourceId": send.source_id,
    }
    if fact.url:
        properties["url"] = fact.url
    if fact.kind == Kind.BOUNCED:
        properties.update({key: value for key, value in fact.bounce.items() if value})
        properties["permanent"] = fact.permanent
    event_record_system(
        organisation_id=send.organisation_id,
        contact_id=str(send.contact_id),
        name=fact.kind.event_name,
        send_id=send.id,
        at=fact.at,
        properties=properties,
        statements=writes,
    )


def send_id_for_ses_message(ses_message_id: str) -> str | None:
    return Send.objects.filter(ses_message_id=ses_message_id).values_list("id", flat=True).first()

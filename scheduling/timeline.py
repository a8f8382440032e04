"""A contact's timeline (GET /api/contacts/:id/timeline): its sends, its events (custom and
`email.*`), its enrolments starting and ending, and its opt-outs, merged newest first with one
keyset cursor.

Every item has a position (at, kind, id), and the timeline is ordered by it, newest first. A
page reads, from each source, at most `limit + 1` rows after the cursor's position through that
source's own index (sends: the contact's sends by id, whose time part is the send's creation;
events and enrolments: by their timestamps), merges them and keeps the first `limit`: the cost
of a page does not grow with the contact's history. This module lives in scheduling because it
is the lowest app that reads all three (contacts' events, sends, enrolments).
"""

import base64
import binascii
import heapq
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from django.db.models import Q, QuerySet

from contacts.models import Contact, Event
from kraiter.api.fields import format_timestamp, parse_timestamp
from kraiter.api.ids import id_floor, is_valid_id
from kraiter.errors import InvalidInput
from scheduling.models import Enrolment
from sends.models import Send

# The kinds of item, in the order they take at one instant (higher first).
KINDS = ("send", "event", "enrolled", "ended", "opt_out")
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Position:
    at: datetime
    kind: str
    id: str

    def key(self) -> tuple[datetime, int, str]:
        return (self.at, _RANK[self.kind], self.id)


# One item while merging: (at, rank of its kind, id, body); the first three are its position.
Item = tuple[datetime, int, str, dict[str, Any]]
_position_key = itemgetter(0, 1, 2)


@dataclass(frozen=True)
class TimelinePage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def contact_timeline(*, contact: Contact, limit: int, cursor: str | None) -> TimelinePage:
    """Each source is read as plain rows (values_list: no model instances) and its items are
    tuples, so a page costs little more than its five small index scans (BENCHMARKS.md, issue 13)."""
    after = decode_timeline_cursor(cursor, contact) if cursor else None
    sources: list[Iterable[Item]] = [
        _sends(contact, after, limit + 1),
        _events(contact, after, limit + 1),
        _enrolments(contact, after, limit + 1, ended=False),
        _enrolments(contact, after, limit + 1, ended=True),
        _opt_outs(contact, after),
    ]
    merged = heapq.merge(*sources, key=_position_key, reverse=True)
    items = [item for _, item in zip(range(limit + 1), merged, strict=False)]
    following = None
    if len(items) > limit:
        at, rank, identifier, _ = items[limit - 1]
        following = _encode(Position(at, KINDS[rank], identifier), contact)
    return TimelinePage([item[3] for item in items[:limit]], following)


def _newer_than(after: Position | None, kind: str, at_field: str, id_field: str = "id") -> Q:
    """The rows of one source strictly after `after` in (at, kind, id) order, newest first."""
    if after is None:
        return Q()
    before = Q(**{f"{at_field}__lt": after.at})
    rank, cursor_rank = _RANK[kind], _RANK[after.kind]
    if rank < cursor_rank:
        return before | Q(**{at_field: after.at})
    if rank == cursor_rank:
        return before | Q(**{at_field: after.at, f"{id_field}__lt": after.id})
    return before


def _sends(contact: Contact, after: Position | None, limit: int) -> list[Item]:
    # A send's instant is its id's time (milliseconds): ordering by id is then ordering by it.
    sends = Send.objects.filter(organisation_id=contact.organisation_id, contact_id=contact.id)
    if after is not None:
        milliseconds = timedelta(milliseconds=1)
        if _RANK["send"] < _RANK[after.kind]:
            sends = sends.filter(id__lt=id_floor("snd", after.at + milliseconds))
        elif after.kind == "send":
            sends = sends.filter(id__lt=after.id)
        else:
            sends = sends.filter(id__lt=id_floor("snd", after.at))
    rows = sends.order_by("-id").values_list("id", "template_slug", "subject", "status", "source", "source_id", "step")[
        :limit
    ]
    rank = _RANK["send"]
    items: list[Item] = []
    for send_id, template_slug, subject, status, source, source_id, step in rows:
        at = _id_time(send_id)
        body = {
            "type": "send",
            "at": format_timestamp(at),
            "sendId": send_id,
            "templateId": template_slug,
            "subject": subject,
            "status": status,
            "source": source,
            "sourceId": source_id,
            "step": step,
        }
        items.append((at, rank, send_id, body))
    return items


def _events(contact: Contact, after: Position | None, limit: int) -> list[Item]:
    events = Event.objects.filter(contact_id=contact.id).filter(_newer_than(after, "event", "timestamp"))
    rows = events.order_by("-timestamp", "-id").values_list("id", "timestamp", "name", "properties", "send_id")
    rank = _RANK["event"]
    return [
        (
            at,
            rank,
            event_id,
            {
                "type": "event",
                "at": format_timestamp(at),
                "eventId": event_id,
                "name": name,
                "properties": properties,
                "sendId": send_id,
            },
        )
        for event_id, at, name, properties, send_id in rows[:limit]
    ]


def _enrolments(contact: Contact, after: Position | None, limit: int, *, ended: bool) -> list[Item]:
    kind, at_field = ("ended", "ended_at") if ended else ("enrolled", "created_at")
    enrolments: QuerySet[Enrolment] = Enrolment.objects.filter(contact_id=contact.id)
    if ended:
        enrolments = enrolments.filter(ended_at__isnull=False)
    rows = (
        enrolments.filter(_newer_than(after, kind, at_field))
        .order_by(f"-{at_field}", "-id")
        .values_list("id", at_field, "sequence_slug", "status", "ended_reason")
    )
    rank = _RANK[kind]
    items: list[Item] = []
    for enrolment_id, at, sequence_slug, status, ended_reason in rows[:limit]:
        body = {
            "type": "enrolment",
            "at": format_timestamp(at),
            "enrolmentId": enrolment_id,
            "sequenceId": sequence_slug,
            "change": status if ended else "enrolled",
        }
        if ended and ended_reason:
            body["reason"] = ended_reason
        items.append((at, rank, enrolment_id, body))
    return items


def _opt_outs(contact: Contact, after: Position | None) -> list[Item]:
    """The contact's current opt-outs (at most two), from the contact itself."""
    items: list[Item] = []
    rank = _RANK["opt_out"]
    for which, at, reason in (
        ("unsubscribed", contact.unsubscribed_at if contact.unsubscribed else None, None),
        ("suppressed", contact.suppressed_at if contact.suppressed else None, contact.suppression_reason),
    ):
        if at is None:
            continue
        if after is None or (at, rank, which) < after.key():
            body = {"type": "opt_out", "at": format_timestamp(at), "change": which}
            if reason:
                body["reason"] = reason
            items.append((at, rank, which, body))
    return sorted(items, key=_position_key, reverse=True)


_CROCKFORD = {character: value for value, character in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _id_time(send_id: str) -> datetime:
    """The instant in a send's id: its first 10 characters are the milliseconds since 1970."""
    milliseconds = 0
    for character in send_id[4:14]:
        milliseconds = milliseconds * 32 + _CROCKFORD[character]
    return _EPOCH + timedelta(milliseconds=milliseconds)


def _encode(position: Position, contact: Contact) -> str:
    payload = {"at": position.at.astimezone(UTC).isoformat(), "kind": position.kind, "id": position.id, "c": contact.id}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


_ID_CHECKS: dict[str, Callable[[str], bool]] = {
    "send": lambda value: is_valid_id(value, "snd"),
    "event": lambda value: is_valid_id(value, "evt"),
    "enrolled": lambda value: is_valid_id(value, "enr"),
    "ended": lambda value: is_valid_id(value, "enr"),
    "opt_out": lambda value: value in ("unsubscribed", "suppressed"),
}


def decode_timeline_cursor(raw: str, contact: Contact) -> Position:
    """The cursor's position; a 400 when it is not a timeline cursor of this contact."""
    invalid = InvalidInput("The 'cursor' is not valid; use the nextCursor of a previous page.")
    text = raw.strip()
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        kind, identifier = payload["kind"], payload["id"]
        if payload.get("c") != contact.id or kind not in _ID_CHECKS or not _ID_CHECKS[kind](identifier):
            raise invalid
        return Position(parse_timestamp(payload["at"]), kind, identifier)
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        raise invalid from None

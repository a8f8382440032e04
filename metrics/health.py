"""What the admin's front page says besides the numbers: the latest bounces and complaints, how
many contacts are suppressed, and whether mail is leaving (queued, stuck, oldest queued).
Every query reads a partial index and every count stops at COUNT_LIMIT + 1 rows."""

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import Contact
from kraiter.models import Organisation
from sends.models import Send

COUNT_LIMIT = 10_000
RECENT = 10
# A queued send older than this is stuck (requeue_stuck_sends' default).
STUCK_AFTER = timedelta(minutes=10)


def bounded_count(queryset: QuerySet[Any]) -> str:
    """The count, or "10,000+" past the limit: never a COUNT(*) over a whole table."""
    count = queryset[: COUNT_LIMIT + 1].count()
    return f"{COUNT_LIMIT:,}+" if count > COUNT_LIMIT else f"{count:,}"


def recent_problems(organisation: Organisation) -> list[tuple[Any, str, Send]]:
    """The latest bounces and complaints, newest first (send_org_bounced_at_idx, ..._complained_at_idx)."""
    problems: list[tuple[Any, str, Send]] = []
    for field, label in (("bounced_at", "bounced"), ("complained_at", "complained")):
        sends = Send.objects.filter(organisation=organisation, **{f"{field}__isnull": False}).order_by(f"-{field}")
        problems += [(getattr(send, field), label, send) for send in sends[:RECENT]]
    return sorted(problems, key=lambda problem: problem[0], reverse=True)[:RECENT]


def queue_health() -> dict[str, Any]:
    """Across organisations, as the workers see it (send_queued_idx: only queued rows)."""
    queued = Send.objects.filter(status=Send.Status.QUEUED)
    oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "queued": bounded_count(queued),
        "stuck": bounded_count(queued.filter(created_at__lt=timezone.now() - STUCK_AFTER)),
        "oldest": oldest,
    }


def organisation_health(organisation: Organisation) -> dict[str, Any]:
    suppressed = Contact.objects.filter(organisation=organisation, suppressed=True)  # contact_suppressed_idx
    return {
        "problems": recent_problems(organisation),
        "suppressed": bounded_count(suppressed),
        "queue": queue_health(),
    }

from celery import shared_task

from scheduling.dispatcher import dispatch_until_idle
from scheduling.reactions import react_until_idle
from scheduling.services import enrolments_heal_stuck


@shared_task
def dispatch_scheduled() -> int:
    """Beat, every DISPATCH_INTERVAL_SECONDS: reacts to new events (sequence triggers), then turns
    due scheduled sends into sends. Several may run at once (SKIP LOCKED keeps them apart)."""
    react_until_idle(max_batches=20)
    return dispatch_until_idle(max_batches=20)


@shared_task
def heal_stuck_enrolments() -> int:
    """Beat, every minute: active enrolments with nothing scheduled get their next step (or end)."""
    return enrolments_heal_stuck()

"""Celery tasks of the send pipeline. Each takes ids, calls one service, and is safe to run twice."""

import logging

from celery import shared_task

from sends import delivery
from sends.idempotency import idempotency_records_purge

logger = logging.getLogger("kraiter.delivery")


@shared_task(acks_late=True, ignore_result=True)
def deliver(send_id: str, expected_attempt: int | None = None) -> str:
    """Delivers one send. A failure that can be retried schedules the retry itself; if that
    message is lost, the sweeper takes the send once its retry time has passed."""
    result = delivery.deliver_send(send_id, expected_attempt=expected_attempt)
    if result.outcome == "retry" and result.retry_in is not None:
        deliver.apply_async((send_id, result.attempt), countdown=result.retry_in)
    return result.outcome


@shared_task(acks_late=True, ignore_result=True)
def deliver_chunk(send_ids: list[str]) -> int:
    """Delivers several sends one after the other (each claimed on its own, so a send another
    worker holds is skipped). Returns how many went out."""
    return sum(deliver(send_id) == "sent" for send_id in send_ids)


@shared_task(ignore_result=True)
def sweep_queued_sends() -> int:
    """Beat, every 30 s: re-enqueues queued sends that no worker is delivering."""
    from sends.services import send_enqueue_delivery

    send_ids = delivery.sends_due_for_sweep()
    send_enqueue_delivery(send_ids)
    if send_ids:
        logger.info("Sweeper re-enqueued %s queued send(s)", len(send_ids))
    return len(send_ids)


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Beat, hourly: forgets Idempotency-Keys older than 24 hours."""
    return idempotency_records_purge()

"""Celery tasks of the send pipeline, and how a committed send reaches them (send_enqueue_delivery).
Each task takes ids, calls one service, and is safe to run twice. Nothing here imports
sends.services: the send service imports this module, not the other way round."""

import logging
import time
from collections.abc import Iterable
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from sends import delivery
from sends.idempotency import idempotency_records_purge

logger = logging.getLogger("kraiter.delivery")


@shared_task(bind=True)
def deliver(self: Task, send_id: str, expected_attempt: int | None = None) -> str:
    """Delivers one send. A failure that can be retried schedules the retry itself; if that
    message is lost, the sweeper takes the send once its retry time has passed."""
    result = delivery.deliver_send(send_id, expected_attempt=expected_attempt, **_redelivery(self))
    if result.retry_in is not None:
        _schedule_next_attempt(send_id, result)
    return result.outcome


def _schedule_next_attempt(send_id: str, result: delivery.DeliveryResult) -> None:
    if result.outcome == "retry":
        # The retry may take the send back the moment it runs (its attempt released the lease).
        deliver.apply_async((send_id, result.attempt), countdown=result.retry_in)
    else:
        # uncertain / waiting: the lease holds the send until SES's event has had its time.
        deliver.apply_async((send_id,), countdown=result.retry_in)


@shared_task(bind=True)
def deliver_chunk(self: Task, send_ids: list[str]) -> int:
    """Delivers several sends one after the other (each claimed on its own, so a send another
    worker holds is skipped). Returns how many went out."""
    sent = 0
    for send_id in send_ids:
        result = delivery.deliver_send(send_id, **_redelivery(self))
        if result.retry_in is not None:
            _schedule_next_attempt(send_id, result)
        sent += result.outcome == "sent"
    return sent


def _redelivery(task: Task) -> dict[str, Any]:
    """This run's task id, and whether Celery handed the task out again after its worker died."""
    delivery_info = task.request.delivery_info or {}
    return {"task_id": task.request.id, "redelivered": bool(delivery_info.get("redelivered"))}


@shared_task
def sweep_queued_sends() -> int:
    """Beat, every DELIVERY_SWEEP_INTERVAL_SECONDS: re-enqueues queued sends that no worker is delivering."""
    send_ids = delivery.sends_due_for_sweep()
    send_enqueue_delivery(send_ids)
    if send_ids:
        logger.info("Sweeper re-enqueued %s queued send(s)", len(send_ids))
    return len(send_ids)


@shared_task
def purge_idempotency_keys() -> int:
    """Beat, hourly: forgets Idempotency-Keys older than 24 hours."""
    return idempotency_records_purge()


# Deliveries are enqueued one task per send, or one per chunk when many sends appear at once
# (the dispatcher, the sweeper): one broker message per 50 sends instead of 50.
DELIVERY_CHUNK = 50
# After the broker failed to take a message, publishing is skipped for this long: a sick broker
# costs one request its publish timeout, not every request (the sweeper delivers the sends).
BROKER_BACKOFF_SECONDS = 30.0
_broker_unavailable_until = 0.0


def send_enqueue_delivery(send_ids: Iterable[str]) -> None:
    """Enqueues delivery once the current transaction commits. The sends are already committed,
    so a broker that is down or hung loses nothing: publishing is bounded (CELERY_TASK_PUBLISH_
    RETRY_POLICY and the Redis socket timeouts), a failure is logged, and the sweeper enqueues
    the sends again."""
    ids = list(send_ids)

    def enqueue() -> None:
        global _broker_unavailable_until
        if time.monotonic() < _broker_unavailable_until:
            logger.warning("Broker unavailable; %s send(s) left for the sweeper", len(ids))
            return
        try:
            if len(ids) == 1:
                deliver.delay(ids[0])
                return
            for start in range(0, len(ids), DELIVERY_CHUNK):
                deliver_chunk.delay(ids[start : start + DELIVERY_CHUNK])
        except Exception:
            _broker_unavailable_until = time.monotonic() + BROKER_BACKOFF_SECONDS
            logger.exception("Could not enqueue delivery of %s send(s); the sweeper will retry", len(ids))

    if ids:
        transaction.on_commit(enqueue)

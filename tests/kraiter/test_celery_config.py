"""What the Celery app and its beat timetable promise, checked against the app itself."""

import pytest
from django.conf import settings

from kraiter.celery import app
from tests.conftest import run_concurrently


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()  # what a worker and beat do at start-up (autodiscovery)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"beat entry {name!r} names no task: {entry['task']}"


def test_a_lost_worker_is_replaced_in_seconds_and_within_45_s_at_worst():
    # Celery hands a lost worker's task out again (acks late + reject on worker lost); when a
    # whole machine is lost, the sweeper re-enqueues the send once its lease is over.
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert settings.AWS_SES_CONFIG.connect_timeout and settings.AWS_SES_CONFIG.read_timeout
    lease = settings.DELIVERY_LEASE_SECONDS
    assert lease > settings.AWS_SES_CONFIG.connect_timeout + settings.AWS_SES_CONFIG.read_timeout
    assert lease + settings.CELERY_BEAT_SCHEDULE["sweep-queued-sends"]["schedule"] <= 45


def test_run_concurrently_raises_what_a_thread_raised():
    def crash(index: int) -> None:
        if index == 2:
            raise RuntimeError("thread 2 crashed")

    with pytest.raises(RuntimeError, match="thread 2 crashed"):
        run_concurrently(crash, 4)


def test_worker_and_beat_log_real_events_not_their_ticks():
    """`make run` shows one line per real event: beat's "Sending due task" and the worker's
    "received"/"succeeded", every second or two, stay below INFO (LOG_LEVEL=DEBUG shows them)."""
    import logging

    from celery import signals

    signals.setup_logging.send(sender=None, loglevel="INFO", logfile=None, format="", colorize=False)
    for ticker in ("celery.beat", "celery.app.trace", "celery.worker.strategy"):
        assert not logging.getLogger(ticker).isEnabledFor(logging.INFO), ticker
    assert logging.getLogger("sends.delivery").isEnabledFor(logging.INFO)

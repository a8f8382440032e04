"""The SES rate limiter shared by every worker (sends.ratelimit)."""

import time
import uuid
from unittest import mock

import pytest
from django.conf import settings

from sends import delivery
from sends.ratelimit import SesRateLimiter, ses_rate_limiter_reset
from sends.services import send_enqueue_delivery, send_transactional
from tests.conftest import run_concurrently
from tests.factories import TemplateFactory
from tests.standin_ses import StandinSes
from tests.workers import celery_worker


def reserve_many(limiters: list[SesRateLimiter], count: int) -> tuple[list[float], float]:
    started = time.monotonic()
    waits = [limiters[i % len(limiters)].reserve() for i in range(count)]
    return waits, time.monotonic() - started


def assert_slots_are_spaced(waits: list[float], elapsed: float, interval: float) -> None:
    """The n-th reservation waits until the n-th slot: n intervals after the first, whoever asked."""
    assert waits[0] == pytest.approx(0, abs=interval)
    expected_last = (len(waits) - 1) * interval
    assert expected_last - elapsed - 0.005 <= waits[-1] <= expected_last + 0.005
    assert waits == sorted(waits)


@pytest.mark.redis
def test_workers_share_one_schedule_in_redis():
    key = f"test:ses-rate:{uuid.uuid4()}"
    workers = [SesRateLimiter(20, redis_url=settings.REDIS_URL, key=key) for _ in range(4)]
    waits, elapsed = reserve_many(workers, 40)
    assert_slots_are_spaced(waits, elapsed, interval=1 / 20)


@pytest.mark.redis
def test_an_idle_limiter_does_not_save_up_a_burst():
    key = f"test:ses-rate:{uuid.uuid4()}"
    limiter = SesRateLimiter(50, redis_url=settings.REDIS_URL, key=key)
    limiter.reserve()
    time.sleep(0.3)  # idle for 15 slots' worth
    waits, elapsed = reserve_many([limiter], 5)
    assert_slots_are_spaced(waits, elapsed, interval=1 / 50)


def test_without_redis_the_process_keeps_the_schedule():
    limiter = SesRateLimiter(20, redis_url=None)
    waits, elapsed = reserve_many([limiter], 30)
    assert_slots_are_spaced(waits, elapsed, interval=1 / 20)


def test_the_rate_must_be_positive():
    with pytest.raises(ValueError):
        SesRateLimiter(0, redis_url=None)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_deliveries_from_threads_and_another_process_keep_to_the_ses_rate(organisation, settings):
    """The limiter as deliveries use it: 4 threads here and a worker process, one SES at 20/s."""
    rate, key = 20.0, f"test:ses-rate:{uuid.uuid4()}"
    TemplateFactory(organisation=organisation, slug="receipt")
    with mock.patch("sends.services.send_enqueue_delivery"):  # queued, not yet handed to any worker
        sends = [
            send_transactional(organisation=organisation, to=f"r{n}@example.com", template_id="receipt", variables={})
            for n in range(48)
        ]
    ses_settings = {
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SES_MAX_SEND_RATE": str(rate),
        "SES_RATE_LIMIT_KEY": key,
    }
    # SES answers Throttling above its rate; the stand-in allows two more (a message reaches SES some
    # milliseconds after its slot, more on a loaded machine), so that the arrivals below are measured.
    with StandinSes(rate=rate + 2) as ses:
        for name, value in {**ses_settings, "AWS_SES_REGION_ENDPOINT_URL": ses.url}.items():
            setattr(settings, name, float(value) if name == "SES_MAX_SEND_RATE" else value)
        ses_rate_limiter_reset()
        with celery_worker(AWS_SES_REGION_ENDPOINT_URL=ses.url, **ses_settings) as worker:
            send_enqueue_delivery([send.id for send in sends[24:]])  # outside a transaction: published now
            run_concurrently(lambda i: [delivery.deliver_send(send.id) for send in sends[i:24:4]], 4)
            deadline = time.monotonic() + 60
            while len(ses.accepted) < len(sends) and time.monotonic() < deadline:
                assert worker.poll() is None
                time.sleep(0.2)
    arrivals = sorted(message.at for message in ses.accepted)
    assert len(arrivals) == len(sends) and ses.throttled == 0
    assert {message.send_id for message in ses.accepted} == {send.id for send in sends}
    # the whole run as long as the rate makes it (without the limiter: well under a second), and
    # no second holds more than the rate (plus one, for that jitter)
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) / rate - 0.1
    busiest = max(sum(1 for at in arrivals[index:] if at - start < 1.0) for index, start in enumerate(arrivals))
    assert busiest <= rate + 1

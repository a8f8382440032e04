"""The SES rate limiter shared by every worker (sends.ratelimit)."""

import time
import uuid

import pytest
from django.conf import settings

from sends.ratelimit import SesRateLimiter


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

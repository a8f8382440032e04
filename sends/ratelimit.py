"""The SES send rate, shared by every worker on every machine.

A GCRA ("virtual scheduling") limiter in Redis: each caller reserves the next free slot, spaced
1/rate apart, and sleeps until it. The aggregate rate never exceeds the rate, and with a backlog
every slot is used. Without Redis (the embedded mode of `make run`) the same algorithm runs per
process, which is exact for the single worker that mode starts.
"""

import threading
import time
from typing import Any

from django.conf import settings

# KEYS[1]: the limiter; ARGV[1]: microseconds between sends. Returns microseconds to wait.
# Redis's own clock is the only clock, so workers on different machines agree.
_RESERVE_SLOT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local following = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', following), 'PX', math.floor((following - now) / 1000) + 1000)
return slot - now
"""


class SesRateLimiter:
    def __init__(self, rate_per_second: float, *, redis_url: str | None, key: str = "kraiter:ses-rate") -> None:
        if rate_per_second <= 0:
            raise ValueError("The SES send rate must be positive.")
        self.interval_us = round(1_000_000 / rate_per_second)
        self.key = key
        self._script: Any = None
        if redis_url:
            import redis

            client = redis.Redis.from_url(
                redis_url,
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
            )
            self._script = client.register_script(_RESERVE_SLOT)
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def reserve(self) -> float:
        """Reserves the next slot; returns the seconds to wait before sending in it."""
        if self._script is not None:
            return int(self._script(keys=[self.key], args=[self.interval_us])) / 1_000_000
        with self._lock:
            now = time.monotonic()
            slot = max(self._next_slot, now)
            self._next_slot = slot + self.interval_us / 1_000_000
            return slot - now

    def wait_for_slot(self) -> None:
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)


_limiter: SesRateLimiter | None = None
_limiter_lock = threading.Lock()


def ses_rate_limiter() -> SesRateLimiter:
    """The process's limiter for SES_MAX_SEND_RATE less the headroom (on REDIS_URL when set)."""
    global _limiter
    with _limiter_lock:
        if _limiter is None:
            rate = settings.SES_MAX_SEND_RATE * settings.SES_SEND_RATE_HEADROOM
            _limiter = SesRateLimiter(rate, redis_url=settings.REDIS_URL or None, key=settings.SES_RATE_LIMIT_KEY)
        return _limiter


def ses_rate_limiter_reset() -> None:
    """Forgets the process's limiter, so the next delivery reads the settings again (tests,
    and a process that changed SES_MAX_SEND_RATE)."""
    global _limiter
    with _limiter_lock:
        _limiter = None

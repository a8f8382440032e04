"""The Redis broker transport, with one change: a channel keeps its synchronous Redis client.

kombu's Redis channel builds a new redis.Redis object for every message it publishes (about a
quarter of the CPU of publishing a task: issue 17, BENCHMARKS.md). A redis.Redis is a thin,
thread-safe front to the channel's connection pool, so one per channel and pool does the same
work; a pool kombu replaces (after a disconnect) gets a new client.
"""

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        kept = getattr(self, "_kept_client", None)
        if kept is None or kept.connection_pool is not pool:
            kept = self._kept_client = super()._create_client()
        return kept


class Transport(redis.Transport):
    Channel = Channel

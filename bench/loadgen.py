"""An open-loop HTTP load generator: requests start on a fixed schedule whatever the server does,
and each latency is measured from its scheduled start, so a slow server cannot hide its queue
(no coordinated omission). Plain asyncio and keep-alive HTTP/1.1 over loopback.

    python bench/loadgen.py --url http://127.0.0.1:8001/api/send --rate 250 --seconds 60 \
        --header "Authorization: Bearer kr_..." --body-file body.json
"""

import argparse
import asyncio
import json
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    started: float = 0.0
    finished: float = 0.0

    def summary(self) -> dict[str, float | int | dict[int, int]]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2) if ordered else 0.0

        elapsed = self.finished - self.started
        return {
            "requests": len(ordered),
            "seconds": round(elapsed, 2),
            "rate": round(len(ordered) / elapsed, 1) if elapsed else 0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0,
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else 0,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": self.errors,
        }


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        for attempt in range(2):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(raw)
                await self.writer.drain()
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt:
                    raise
        raise ConnectionError("unreachable")

    async def _response(self) -> int:
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.writer = None
        return status


def build_request(method: str, url: str, headers: list[str], body: bytes) -> bytes:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += headers
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run(
    url: str,
    *,
    rate: float,
    seconds: float,
    connections: int,
    make_request: Callable[[int], bytes],
) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    result = Result()
    loop = asyncio.get_running_loop()
    result.started = loop.time()
    total = int(rate * seconds)
    tasks = []

    async def one(number: int, scheduled: float) -> None:
        connection = await pool.get()
        try:
            status = await connection.request(make_request(number))
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status >= 400:
                result.errors += 1
        except Exception:
            result.errors += 1
        finally:
            result.latencies.append(loop.time() - scheduled)
            pool.put_nowait(connection)

    for number in range(total):
        scheduled = result.started + number / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(number, scheduled)))
    await asyncio.gather(*tasks)
    result.finished = loop.time()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="POST")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body-file", help="The body; every {n} in it becomes the request's number.")
    parser.add_argument("--bodies-file", help="One body per line, used in turn.")
    args = parser.parse_args()
    body = Path(args.body_file).read_bytes() if args.body_file else b""
    bodies = Path(args.bodies_file).read_bytes().splitlines() if args.bodies_file else []

    def make_request(number: int) -> bytes:
        if bodies:
            return build_request(args.method, args.url, args.header, bodies[number % len(bodies)])
        return build_request(args.method, args.url, args.header, body.replace(b"{n}", str(number).encode()))

    started = time.time()
    result = asyncio.run(
        run(args.url, rate=args.rate, seconds=args.seconds, connections=args.connections, make_request=make_request)
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    loadgen_ms = (usage.ru_utime + usage.ru_stime) * 1000 / max(1, len(result.latencies))
    print(json.dumps({"started": started, **result.summary(), "loadgen_cpu_ms_per_request": round(loadgen_ms, 3)}))


if __name__ == "__main__":
    main()

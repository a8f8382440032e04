"""A stand-in for Amazon SES over HTTP, for tests and benchmarks that run real worker processes.

It speaks SES's SendRawEmail (the query API that django-ses's boto3 client calls), keeps every
message it accepts (with our send id and resend marks, for counting duplicates), and can misbehave
the ways SES and networks do:

- `rate`: more than this many messages within any second are answered Throttling (not accepted);
- `lose_answers`: this fraction of accepted messages get no answer, the connection is closed
  (the client sees its answer lost: SES has the message, the caller cannot know);
- `before_answer`: a callback run after a message is accepted and before it is answered (a test
  kills the worker process there).

    with StandinSes() as ses:          # listening on 127.0.0.1:<ses.port>
        ...                            # AWS_SES_REGION_ENDPOINT_URL=ses.url
        ses.accepted                   # [Accepted(send_id, resend_of, at), ...]
"""

import base64
import email
import email.policy
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCEPTED = (
    "<SendRawEmailResponse xmlns='http://ses.amazonaws.com/doc/2010-12-01/'><SendRawEmailResult>"
    "<MessageId>{id}</MessageId></SendRawEmailResult><ResponseMetadata><RequestId>{id}</RequestId>"
    "</ResponseMetadata></SendRawEmailResponse>"
)
THROTTLED = (
    "<ErrorResponse xmlns='http://ses.amazonaws.com/doc/2010-12-01/'><Error><Type>Sender</Type>"
    "<Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error>"
    "<RequestId>x</RequestId></ErrorResponse>"
)


@dataclass(frozen=True)
class Accepted:
    message_id: str
    send_id: str
    resend_of: str | None  # our X-Kraiter-Resend-Of header: a marked resend
    at: float  # time.monotonic() when it was accepted
    answered: bool


class StandinSes(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        *,
        rate: float | None = None,
        lose_answers: float = 0.0,
        before_answer: Callable[[Accepted], None] | None = None,
        port: int = 0,
        seed: int = 1,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.rate = rate
        self.lose_answers = lose_answers
        self.before_answer = before_answer
        self.accepted: list[Accepted] = []
        self.throttled = 0
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "StandinSes":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def copies(self) -> dict[str, int]:
        """How many times each send id was accepted."""
        counts: dict[str, int] = {}
        for message in self.accepted:
            counts[message.send_id] = counts.get(message.send_id, 0) + 1
        return counts

    def admit(self, raw: bytes) -> Accepted | None:
        """Accepts the message (None: throttled), deciding now whether its answer will be lost."""
        headers = email.message_from_bytes(raw, policy=email.policy.compat32)
        with self._lock:
            now = time.monotonic()
            if self.rate is not None:
                while self._window and now - self._window[0] >= 1.0:
                    self._window.popleft()
                if len(self._window) >= self.rate:
                    self.throttled += 1
                    return None
                self._window.append(now)
            answered = self._random.random() >= self.lose_answers
            message = Accepted(
                message_id=f"standin-{uuid.uuid4().hex}",
                send_id=str(headers.get("X-Kraiter-Send-Id", "")),
                resend_of=headers.get("X-Kraiter-Resend-Of"),
                at=now,
                answered=answered,
            )
            self.accepted.append(message)
            return message


class _Handler(BaseHTTPRequestHandler):
    server: StandinSes
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 uses it

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        raw = base64.b64decode(form.get("RawMessage.Data", [""])[0])
        message = self.server.admit(raw)
        if message is not None and self.server.before_answer is not None:
            self.server.before_answer(message)
        if message is not None and not message.answered:
            self.close_connection = True  # accepted, and the answer never arrives
            return
        body = (ACCEPTED.format(id=message.message_id) if message else THROTTLED).encode()
        self.send_response(200 if message else 400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass

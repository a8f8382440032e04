"""Delivery through 4 Celery worker processes into a fake SES that enforces a maximum send rate.

    .venv/bin/python bench/delivery_rate.py --rates 14,200

The fake speaks SES's SendRawEmail over HTTP (django-ses and boto3 talk to it as to AWS) and
answers Throttling when more than R messages arrive within any second. Target (issue 3): with a
backlog, the aggregate rate stays at most R and at least 0.9 R.
"""

import argparse
import bisect
import json
import os
import subprocess
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import ENV, PYTHON, ROOT, cpu_seconds, flush_redis, machine, organisation_with_note, setup_django

PORT = 8010  # --port
BENCH_DOMAIN = "delivery-rate.example"
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


class FakeSes(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, rate: float) -> None:
        super().__init__(("127.0.0.1", PORT), Handler)
        self.rate = rate
        self.accepted: list[float] = []
        self.throttled = 0
        self.window: deque[float] = deque()
        self.lock = threading.Lock()

    def admit(self) -> bool:
        with self.lock:
            now = time.monotonic()
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.rate:
                self.throttled += 1
                return False
            self.window.append(now)
            self.accepted.append(now)
            return True


class Handler(BaseHTTPRequestHandler):
    server: FakeSes

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.server.admit()
        body = (ACCEPTED.format(id=uuid.uuid4().hex) if ok else THROTTLED).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def queue_backlog(count: int) -> list[str]:
    from contacts.models import Contact
    from domains.models import Domain, SenderSettings
    from kraiter.models import Organisation
    from sends.services import send_build, send_save_many
    from templates_app.models import Template

    Organisation.objects.filter(name="Delivery rate").delete()
    organisation = organisation_with_note("Delivery rate")
    # Sends need a From address on a verified, sending-enabled domain of the organisation
    # (domains.sender); delivery checks that domain again before each email.
    Domain.objects.filter(name=BENCH_DOMAIN).delete()
    Domain.objects.create(organisation=organisation, name=BENCH_DOMAIN, status="verified", sending_enabled=True)
    SenderSettings.objects.create(organisation=organisation, from_name="Bench", from_email=f"bench@{BENCH_DOMAIN}")
    template = Template.objects.get(organisation=organisation, slug="note")
    contacts = Contact.objects.bulk_create(
        [Contact(organisation=organisation, email=f"r{n}@example.com") for n in range(count)]
    )
    news = [
        send_build(organisation=organisation, contact=c, template=template, variables={"n": n})
        for n, c in enumerate(contacts)
    ]
    send_save_many(news, deliver=False)
    return [new.send.id for new in news]


def run(rate: float, seconds_of_backlog: int) -> dict[str, object]:
    from sends.models import Send
    from sends.services import send_enqueue_delivery

    flush_redis()
    ids = queue_backlog(int(rate * seconds_of_backlog))
    server = FakeSes(rate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    env = {
        **ENV,
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "AWS_SES_REGION_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "SES_MAX_SEND_RATE": str(rate),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DEFAULT_FROM_EMAIL": "bench@example.com",
    }
    workers = [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "kraiter",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "8",
                "--loglevel",
                "WARNING",
                "-n",
                f"bench{n}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
        )
        for n in range(4)
    ]
    time.sleep(8)
    from kraiter.celery import app

    app.conf.task_default_queue = queue
    cpu_before = sum(cpu_seconds(worker.pid) for worker in workers)
    send_enqueue_delivery(ids)
    deadline = time.monotonic() + seconds_of_backlog * 3 + 60
    while time.monotonic() < deadline and Send.objects.filter(pk__in=ids, status="queued").exists():
        time.sleep(1)
    worker_cpu = sum(cpu_seconds(worker.pid) for worker in workers) - cpu_before
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait()
    server.shutdown()
    times = server.accepted
    peak = max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
    span = times[-1] - times[0] if len(times) > 1 else 0
    return {
        "max_rate": rate,
        "sends": len(ids),
        "sent": Send.objects.filter(pk__in=ids, status="sent").count(),
        "aggregate_rate": round((len(times) - 1) / span, 1) if span else 0,
        "ratio_of_max": round((len(times) - 1) / span / rate, 3) if span else 0,
        "most_in_any_1s_window": peak,
        "throttled_by_ses": server.throttled,
        # The 4 worker processes' CPU (user + system, /proc) from the enqueue to the last send, per
        # email sent; idle polling included.
        "worker_cpu_ms_per_sent": round(worker_cpu * 1000 / max(len(times), 1), 2),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    global PORT
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="14,200")
    parser.add_argument("--seconds", type=int, default=20, help="seconds of backlog at the maximum rate")
    parser.add_argument("--port", type=int, default=PORT, help="the fake SES's port")
    args = parser.parse_args()
    PORT = args.port
    setup_django()
    print(f"machine: {machine()}")
    for rate in (float(r) for r in args.rates.split(",")):
        print(json.dumps(run(rate, args.seconds)))


if __name__ == "__main__":
    main()

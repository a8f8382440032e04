"""POST /webhooks/ses/ under gunicorn: signed SNS notifications (Delivery, Open, Click) for real
sends, verified with a cached certificate, from a second process on loopback.

    .venv/bin/python bench/webhook_load.py --rates 300,500 --seconds 60

Target (issue 5): at least 500 notifications/s with p99 at most 50 ms.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ENV, PYTHON, ROOT, Gunicorn, cpu_by_program, cpu_seconds, machine, setup_django

sys.path.insert(0, str(ROOT))
KINDS = ["Delivery", "Open", "Click"]


def server_cpu(master: int) -> dict[str, float]:
    """CPU seconds so far of gunicorn's workers (children of `master`) and of the PostgreSQL
    backends connected to the benchmark database (the workers' connections persist)."""
    from django.db import connection

    workers = [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return {
        "workers": sum(cpu_seconds(pid) for pid in workers),
        "postgres_backends": sum(cpu_seconds(pid) for pid in backends),
    }


def sent_sends(organisation_name: str, count: int, *, prefix: str) -> list:
    """`count` sends SES accepted, one per new contact, in a fresh organisation of that name."""
    from django.utils import timezone

    from contacts.models import Contact
    from kraiter.models import Organisation
    from kraiter.services import organisation_create
    from sends.models import Send

    Organisation.objects.filter(name=organisation_name).delete()
    organisation = organisation_create(name=organisation_name, sending_status="enabled")
    contacts = Contact.objects.bulk_create(
        [Contact(organisation=organisation, email=f"{prefix}{n}@example.com") for n in range(count)]
    )
    return Send.objects.bulk_create([
        Send(organisation=organisation, contact=c, email=c.email, template_slug="welcome", template_name="Welcome",
             subject="Hi", status="sent", sent_at=timezone.now(), ses_message_id=f"ses-{prefix}-{n}")
        for n, c in enumerate(contacts)
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="300,500")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="sync workers (the README's 2 x cores)")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    from tests.sends import ses_examples
    from tests.sends.sns import CERT_URL, TOPIC, FakeSns

    sns = FakeSns()
    folder = Path(tempfile.mkdtemp())
    (folder / "cert.pem").write_bytes(sns.pem)
    os.environ.update(AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS=TOPIC, BENCH_SNS_CERT=str(folder / "cert.pem"),
                      BENCH_SNS_CERT_URL=CERT_URL)  # fmt: skip
    ENV.update(
        AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS=TOPIC, BENCH_SNS_CERT=str(folder / "cert.pem"), BENCH_SNS_CERT_URL=CERT_URL
    )
    setup_django()
    from django.utils import timezone

    count = int(max(float(r) for r in args.rates.split(",")) * args.seconds / len(KINDS)) + 1
    sends = sent_sends("Webhook", count, prefix="webhook")
    print(f"machine: {machine()}; gunicorn {args.workers} workers; signing notifications…", flush=True)
    url = f"http://127.0.0.1:{args.port}/webhooks/ses/"
    server = Gunicorn(port=args.port, workers=args.workers, config=str(ROOT / "bench" / "gunicorn_webhook.py"))
    try:
        for rate in (float(r) for r in args.rates.split(",")):
            now = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
            bodies = folder / f"bodies-{rate}.jsonl"
            with bodies.open("w") as out:
                for n in range(int(rate * args.seconds)):
                    send = sends[n // len(KINDS) % len(sends)]
                    record = ses_examples.event(KINDS[n % len(KINDS)], message_id=send.ses_message_id, send_id=send.id,
                                                recipient=send.email, at=now)  # fmt: skip
                    out.write(json.dumps(sns.notification(record, version="2")) + "\n")
            before, server_before = cpu_by_program(), server_cpu(server.process.pid)
            output = subprocess.run(
                [PYTHON, "bench/loadgen.py", "--url", url, "--rate", str(rate),
                 "--seconds", str(args.seconds), "--connections", "64", "--header", "Content-Type: text/plain",
                 "--bodies-file", str(bodies)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            after, server_after = cpu_by_program(), server_cpu(server.process.pid)
            result = json.loads(output)
            cpu_ms = {k: round((after[k] - before[k]) * 1000 / result["requests"], 2) for k in after}
            # This server's own CPU (its workers and their PostgreSQL backends), whatever else runs.
            server_ms = {k: round((server_after[k] - server_before[k]) * 1000 / result["requests"], 2)
                         for k in server_after}  # fmt: skip
            load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            print(json.dumps({"target_rate": rate, **result, "server_cpu_ms_per_request": server_ms,
                              "cpu_ms_per_request": cpu_ms, "uptime": load}), flush=True)  # fmt: skip
            time.sleep(2)
    finally:
        server.stop()


if __name__ == "__main__":
    main()

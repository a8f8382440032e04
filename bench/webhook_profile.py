"""Where one SES notification's time goes: the same signed Delivery/Open/Click notifications as
bench/webhook_load.py, posted in-process through the Django test client (the whole stack but
the network), under cProfile, with the queries of each counted.

    BENCH_DATABASE=kraiter_bench13 .venv/bin/python bench/webhook_profile.py --count 300

Prints the queries of one notification of each kind, the mean time per notification, and the
top of the profile (cumulative and own time).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time

os.environ.setdefault("BENCH_DATABASE", "kraiter_bench13")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

from common import ENV, ROOT, cpu_seconds, machine, setup_django
from webhook_load import KINDS, sent_sends

sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300, help="notifications (a multiple of 3)")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--dump", help="also write the profile to this file (for pstats)")
    parser.add_argument("--no-profile", action="store_true", help="time without cProfile's overhead")
    args = parser.parse_args()
    from tests.sends import ses_examples
    from tests.sends.sns import TOPIC, FakeSns

    os.environ["AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS"] = TOPIC
    ENV["AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS"] = TOPIC
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from sends.engagement import sns as sns_module

    sns = FakeSns()
    from tests.sends.sns import CERT_URL

    sns_module._certificates[CERT_URL] = sns.certificate
    count = args.count // len(KINDS) + 2
    sends = sent_sends("Webhook profile", count, prefix=f"profile-{os.getpid()}")
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def body(n: int) -> str:
        send = sends[n // len(KINDS)]
        record = ses_examples.event(KINDS[n % len(KINDS)], message_id=send.ses_message_id, send_id=send.id,
                                    recipient=send.email, at=now)  # fmt: skip
        return json.dumps(sns.notification(record, version="2"))

    client = Client(HTTP_HOST="127.0.0.1")

    def post(text: str) -> None:
        response = client.post("/webhooks/ses/", text, content_type="text/plain")
        assert response.status_code == 200, response.content

    # One of each kind on the last send, its queries shown.
    for n in range(len(KINDS)):
        text = body((count - 1) * len(KINDS) + n)
        with CaptureQueriesContext(connection) as queries:
            post(text)
        print(f"--- {KINDS[n]}: {len(queries)} queries")
        for query in queries.captured_queries:
            print(f"  {query['time']}s  {query['sql'][:160]}")
    bodies = [body(n) for n in range(args.count)]
    profile = cProfile.Profile()
    backend = connection.connection.info.backend_pid  # this process's PostgreSQL backend
    started, cpu_started, backend_started = time.perf_counter(), time.process_time(), cpu_seconds(backend)
    if not args.no_profile:
        profile.enable()
    for text in bodies:
        post(text)
    if not args.no_profile:
        profile.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    backend_cpu = cpu_seconds(backend) - backend_started
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {machine()}; {load}")
    under = "" if args.no_profile else " (under cProfile)"
    print(f"{args.count} notifications in {elapsed:.2f} s: {elapsed * 1000 / args.count:.2f} ms each"
          f", {cpu * 1000 / args.count:.2f} ms of this process's CPU{under}"
          f" and {backend_cpu * 1000 / args.count:.2f} ms of its PostgreSQL backend's")  # fmt: skip
    if not args.no_profile:
        if args.dump:
            profile.dump_stats(args.dump)
        print("own time by package:")
        for package, seconds in by_package(pstats.Stats(profile)):
            print(f"  {package:<28} {seconds * 1000 / args.count:.3f} ms")
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """The profile's own time summed by top-level package (site-packages, the project's apps,
    the standard library), largest first."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_calls, _primitive, own, _cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif filename.startswith(str(ROOT)):
            package = "project: " + filename[len(str(ROOT)) + 1 :].split("/")[0]
        elif filename.startswith("~") or filename.startswith("<"):
            package = "builtins"
        else:
            package = "stdlib: " + filename.rsplit("/", 1)[-1]
        totals[package] = totals.get(package, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])


if __name__ == "__main__":
    main()

"""GET /api/events and GET /api/contacts/:id/timeline on the events data set (issue 13).

    .venv/bin/python bench/events_lists.py            # builds the data set first if needed (bench/events_data.py)
    .venv/bin/python bench/events_lists.py --reuse    # measures only: the data set must be there
    .venv/bin/python bench/events_lists.py --reuse --explain   # and EXPLAIN (ANALYZE, BUFFERS) each query
    .venv/bin/python bench/events_lists.py --reuse --only timeline --profile   # where the time goes

In the database kraiter_bench13 (BENCH_DATABASE): an organisation with 50 M events, one contact
of it with 10,000 events, 3,000 sends and 300 enrolments. For each list, the first page and a
page reached by following `nextCursor` (DEEP pages of LIMIT items), through the whole Django stack
in-process (server time, no network), REPEAT times each after two warm-up requests.
Target (issue 13): p95 at most 30 ms for both lists.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import time

os.environ.setdefault("BENCH_DATABASE", "kraiter_bench13")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

from common import machine, setup_django

REPEAT = 100
LIMIT = 50
DEEP = 20


def percentile(timings: list[float], fraction: float) -> float:
    return round(timings[min(len(timings) - 1, int(fraction * len(timings)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reuse", action="store_true", help="measure the data set already built")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each list query")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--only", default="", help="only the cases whose label contains this")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed requests of each page (top 30)")
    args = parser.parse_args()
    setup_django()
    import events_data
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contacts.models import Contact, Event
    from kraiter.models import ApiKey, Organisation
    from kraiter.services import api_key_create

    if not args.reuse:
        events_data.generate()
    organisation = Organisation.objects.get(name=events_data.ORGANISATION)
    heavy = Contact.objects.get(organisation=organisation, email=events_data.HEAVY_EMAIL)
    ApiKey.objects.filter(organisation=organisation).delete()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(organisation=organisation, name='bench').raw_key}",
                    HTTP_HOST="127.0.0.1")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'contacts_event'")
        total = cursor.fetchone()[0]
    middle = Event.objects.filter(contact_id=heavy.id).order_by("-timestamp")[HEAVY_HALF].timestamp
    day_from, day_to = (middle.date().isoformat() + "T00:00:00Z", middle.date().isoformat() + "T01:00:00Z")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {machine()}; {total:,} events (estimate); contact {heavy.id}: "
          f"{Event.objects.filter(contact_id=heavy.id).count():,} events; {load}", flush=True)  # fmt: skip
    cases = [
        ("events", "/api/events", ""),
        ("events contactId", "/api/events", f"contactId={heavy.id}"),
        ("events email", "/api/events", f"email={events_data.HEAVY_EMAIL}"),
        ("events name=email.clicked", "/api/events", "name=email.clicked"),
        ("events name=email.complained", "/api/events", "name=email.complained"),
        ("events name=no.such.event", "/api/events", "name=no.such.event"),
        ("events from/to (one hour)", "/api/events", f"from={day_from}&to={day_to}"),
        ("events name + from/to", "/api/events", f"name=email.opened&from={day_from}&to={day_to}"),
        ("events contactId + name", "/api/events", f"contactId={heavy.id}&name=email.opened"),
        ("timeline", f"/api/contacts/{heavy.id}/timeline", ""),
    ]
    for label, path, query in cases:
        if args.only not in label:
            continue
        base = f"{path}?limit={LIMIT}" + (f"&{query}" if query else "")
        cursor_value = None
        for _ in range(DEEP):
            body = client.get(base + (f"&cursor={cursor_value}" if cursor_value else "")).json()
            cursor_value = body["nextCursor"]
            if cursor_value is None:
                break
        pages = [("first page", base)]
        if cursor_value:
            pages.append((f"page {DEEP + 1} ({DEEP * LIMIT:,} deep)", f"{base}&cursor={cursor_value}"))
        result: dict[str, object] = {"list": label}
        for name, url in pages:
            for _ in range(2):
                response = client.get(url)
                assert response.status_code == 200, response.content
            timings = []
            profile = cProfile.Profile()
            for _ in range(args.repeat):
                started = time.perf_counter()
                if args.profile:
                    profile.enable()
                response = client.get(url)
                if args.profile:
                    profile.disable()
                timings.append((time.perf_counter() - started) * 1000)
            if args.profile:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
                print(f"--- profile of {label}, {name} (timings under cProfile):\n{out.getvalue()}", flush=True)
            timings.sort()
            with CaptureQueriesContext(connection) as queries:
                items = len(client.get(url).json()["data"])
            result[name] = {"items": items, "p50_ms": round(statistics.median(timings), 2),
                            "p95_ms": percentile(timings, 0.95), "p99_ms": percentile(timings, 0.99),
                            "queries": len(queries)}  # fmt: skip
            if args.explain:
                for sql in [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")
                            and ("contacts_event" in q["sql"] or "timeline" in label)][-5:]:  # fmt: skip
                    with connection.cursor() as cursor:
                        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                        plan = "\n".join(row[0] for row in cursor.fetchall())
                    print(f"--- {label}, {name}:\n{sql[:400]}\n{plan}\n", flush=True)
        print(json.dumps(result), flush=True)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


HEAVY_HALF = 5_000

if __name__ == "__main__":
    main()

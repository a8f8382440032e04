"""The scheduled-send dispatcher: throughput with 100,000 rows due at once, and how late the
last of 10,000 rows due within one minute is created.

    .venv/bin/python bench/dispatcher.py
    .venv/bin/python bench/dispatcher.py --cases timed,profile --count 10000   # in-process

Targets (issue 4): at least 3,000 sends/s claimed and created; the last of 10,000 sends due in
the same minute created within 5 s of its time; an idle tick costs at most one query.
Deliveries are enqueued to Redis as they would be (no worker runs, so none is sent).
"""

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import time
from datetime import timedelta

from common import ENV, PYTHON, ROOT, flush_redis, machine, setup_django

DEFINITION = "steps: [{send: welcome}, {delay: 1d}, {send: tips}]"


def prepare(count: int, *, due: object, spread: timedelta = timedelta(0), name: str) -> dict[str, object]:
    """`count` enrolled contacts whose first email is due from `due` over `spread`."""
    from contacts.models import Contact
    from kraiter.models import Organisation
    from kraiter.services import organisation_create
    from scheduling.models import Enrolment, ScheduledSend
    from scheduling.services import sequence_activate, sequence_current_version, sequence_upsert
    from templates_app.services import TemplateInput, template_upsert

    Organisation.objects.filter(name=name).delete()
    organisation = organisation_create(name=name, sending_status="enabled")
    for slug in ("welcome", "tips"):
        html = "<html><body><h1>Hi {{ firstName }}</h1><p><a href='https://example.com'>Start</a></p></body></html>"
        template_upsert(
            organisation=organisation,
            slug=slug,
            data=TemplateInput(name=slug, subject="Hi {{ firstName }}", mjml=None, html=html, text=None, variables=[]),
        )
    sequence, _ = sequence_upsert(organisation=organisation, slug="burst", name="Burst", definition=DEFINITION)
    sequence = sequence_activate(sequence=sequence)
    version = sequence_current_version(sequence)
    contacts = Contact.objects.bulk_create(
        [
            Contact(organisation=organisation, email=f"c{n}@example.com", properties={"firstName": f"C{n}"})
            for n in range(count)
        ],
        batch_size=5000,
    )
    enrolments = Enrolment.objects.bulk_create(
        [
            Enrolment(organisation=organisation, sequence=sequence, sequence_slug="burst", version=version, contact=c)
            for c in contacts
        ],
        batch_size=5000,
    )
    from templates_app.models import Template

    welcome = Template.objects.get(organisation=organisation, slug="welcome")
    planned = {}
    rows = []
    for number, enrolment in enumerate(enrolments):
        at = due + spread * (number / max(count - 1, 1))  # type: ignore[operator]
        planned[enrolment.id] = at
        rows.append(
            ScheduledSend(
                organisation=organisation,
                enrolment=enrolment,
                sequence=sequence,
                contact_id=enrolment.contact_id,
                template=welcome,
                template_slug="welcome",
                step=1,
                resume_index=0,
                email_index=0,
                scheduled_for=at,
            )
        )
    ScheduledSend.objects.bulk_create(rows, batch_size=5000)
    return {"organisation": organisation, "planned": planned}


def throughput(processes: int) -> dict[str, object]:
    from django.utils import timezone

    from sends.models import Send

    data = prepare(100_000, due=timezone.now(), name="Dispatch throughput")
    flush_redis()
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [PYTHON, "manage.py", "dispatch_scheduled", "--batch-size", "1000"],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.wait()
    elapsed = time.monotonic() - started
    created = Send.objects.filter(organisation=data["organisation"]).count()
    return {
        "case": f"100,000 due at once, {processes} dispatcher process(es)",
        "sends_created": created,
        "seconds": round(elapsed, 1),
        "sends_per_second": round(created / elapsed),
    }


def lateness() -> dict[str, object]:
    from django.utils import timezone

    from sends.models import Send

    start = timezone.now() + timedelta(seconds=10)
    data = prepare(10_000, due=start, spread=timedelta(seconds=59), name="Dispatch lateness")
    flush_redis()
    loop = subprocess.Popen(
        [PYTHON, "manage.py", "dispatch_scheduled", "--loop", "--interval", "1"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
    )
    time.sleep(10 + 59 + 8)
    loop.terminate()
    loop.wait()
    planned = data["planned"]
    delays = sorted(
        (created - planned[enrolment]).total_seconds()  # type: ignore[index]
        for enrolment, created in Send.objects.filter(organisation=data["organisation"]).values_list(
            "enrolment_id", "created_at"
        )
    )
    last = max(planned, key=planned.get)  # type: ignore[arg-type]
    last_send = Send.objects.get(enrolment_id=last)
    return {
        "case": "10,000 due within one minute, one dispatcher looping every second",
        "sends_created": len(delays),
        "p50_late_s": round(delays[len(delays) // 2], 2),
        "p99_late_s": round(delays[int(len(delays) * 0.99)], 2),
        "max_late_s": round(delays[-1], 2),
        "last_due_created_after_s": round((last_send.created_at - planned[last]).total_seconds(), 2),
    }  # type: ignore[index]


def idle_cost() -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling.dispatcher import dispatch_due_scheduled_sends

    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            dispatch_due_scheduled_sends()
    return {"case": "idle ticks", "queries_per_tick": len(queries) / 10}


def in_process(count: int, top: int, *, profiled: bool) -> dict[str, object]:
    """`count` rows due at once dispatched in this process (batches of 1,000), timed, and under
    cProfile if `profiled` (where one send's time goes). Deliveries are enqueued to Redis as in
    the other cases."""
    from django.utils import timezone

    from scheduling.dispatcher import dispatch_until_idle

    prepare(count, due=timezone.now(), name="Dispatch profile")
    flush_redis()
    profiler = cProfile.Profile()
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiled:
        profiler.enable()
    created = dispatch_until_idle(batch_size=1000, max_batches=count // 1000 + 2)
    profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiled:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        print(out.getvalue())
    return {
        "case": f"{count:,} due at once, in-process" + (" under cProfile" if profiled else ""),
        "rows_claimed": created,
        "sends_per_second": round(created / elapsed),
        "cpu_ms_per_send": round(cpu * 1000 / max(created, 1), 3),
    }


CASES = {"throughput1": lambda a: throughput(1), "throughput2": lambda a: throughput(2),
         "lateness": lambda a: lateness(), "idle": lambda a: idle_cost(),
         "profile": lambda a: in_process(a.count, a.top, profiled=True),
         "timed": lambda a: in_process(a.count, a.top, profiled=False)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="throughput1,throughput2,lateness,idle", help=",".join(CASES))
    parser.add_argument("--count", type=int, default=10_000, help="rows for the profile case")
    parser.add_argument("--top", type=int, default=40, help="profile lines shown")
    args = parser.parse_args()
    setup_django()
    print(f"machine: {machine()}")
    for case in args.cases.split(","):
        print(json.dumps(CASES[case](args)))


if __name__ == "__main__":
    main()

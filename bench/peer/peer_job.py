"""The peer's side of bench/peer/run.py, run with bench/peer/.venv/bin/python (django-post-office
is installed there only). Prints one JSON object per command.

    peer_job.py reset                    migrate, empty the outbox, create the template
    peer_job.py enqueue N                time N post_office.mail.send() calls (then delete them)
    peer_job.py backlog N TAG            queue N emails with send_many (X-Kraiter-Send-Id TAG-n)
    peer_job.py status TAG               the emails of TAG by status
    peer_job.py <django command> ...     anything else is manage.py (send_queued_mail)
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")

SUBJECT = "Hello {{ n }}"
HTML = "<p>Hello {{ n }}</p>"
TEXT = "Hello {{ n }}"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset() -> dict[str, object]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from post_office.models import Email, EmailTemplate, Log

    Log.objects.all().delete()
    Email.objects.all().delete()
    EmailTemplate.objects.all().delete()
    EmailTemplate.objects.create(name="note", subject=SUBJECT, html_content=HTML, content=TEXT)
    return {"reset": True}


def enqueue(count: int) -> dict[str, object]:
    """What a view calling post_office does for one email: render the stored template with the
    variables and insert the Email row (queued, delivered later by send_queued_mail)."""
    from post_office import mail
    from post_office.models import Email

    for n in range(20):  # warm up: the template, the connection
        mail.send(f"warm{n}@example.com", "bench@example.com", template="note", context={"n": n})
    start_wall, start_cpu = time.perf_counter(), _cpu()
    for n in range(count):
        mail.send(
            f"q{n}@example.com",
            "bench@example.com",
            template="note",
            context={"n": n},
            headers={"X-Kraiter-Send-Id": f"enqueue-{n}"},
        )
    wall, cpu = time.perf_counter() - start_wall, _cpu() - start_cpu
    Email.objects.all().delete()
    return {
        "emails": count,
        "ms_per_email": round(wall * 1000 / count, 2),
        "cpu_ms_per_email": round(cpu * 1000 / count, 2),
    }


def backlog(count: int, tag: str) -> dict[str, object]:
    from post_office import mail
    from post_office.models import Email, Log

    Log.objects.all().delete()
    Email.objects.all().delete()
    for start in range(0, count, 1000):
        mail.send_many(
            [
                {
                    "recipients": [f"r{n}@example.com"],
                    "sender": "bench@example.com",
                    "template": "note",
                    "context": {"n": n},
                    "headers": {"X-Kraiter-Send-Id": f"{tag}-{n}"},
                }
                for n in range(start, min(count, start + 1000))
            ]
        )
    return {"queued": Email.objects.filter(status__in=[2, 3]).count()}


def status(tag: str) -> dict[str, object]:
    from post_office.models import STATUS, Email

    names = dict(enumerate(STATUS._fields))  # sent failed queued requeued
    by_status: dict[str, list[str]] = {}
    for headers, value in Email.objects.values_list("headers", "status"):
        send_id = (headers or {}).get("X-Kraiter-Send-Id", "")
        if send_id.startswith(f"{tag}-"):
            by_status.setdefault(str(names.get(value, value)), []).append(send_id)
    return {"by_status": by_status}


def main() -> None:
    command, args = (sys.argv[1] if len(sys.argv) > 1 else ""), sys.argv[2:]
    if command in ("reset", "enqueue", "backlog", "status"):
        import django

        django.setup()
        functions = {"reset": reset, "enqueue": enqueue, "backlog": backlog, "status": status}
        parsed = [int(a) if a.isdigit() else a for a in args]
        print(json.dumps(functions[command](*parsed)))
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

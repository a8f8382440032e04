"""Queueing one email in-process: the send service (sends.services.send_transactional), and
POST /api/send through Django's test client, CPU per email (issue 17: at most 4 ms; the peer's
django-post-office `mail.send` takes 4.3 ms). Nothing is delivered: the delivery task is
published to Redis, as in production.

    .venv/bin/python bench/send_queueing.py --sends 2000 [--profile 300]

Each send renders the MJML receipt of bench/send_load.py with tracking links, from the
organisation's own verified domain (its sender settings), to a new contact (the first pass) and
to that same, now known, contact (the second pass). CPU is this process's (time.process_time);
PostgreSQL's and Redis's CPU for the same run comes from /proc.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import time
from typing import Any

from common import cpu_by_program, flush_redis, machine, setup_django

DOMAIN = "send-queueing.example"


def prepare() -> tuple[object, str]:
    from send_load import prepare as prepare_template

    from domains.models import Domain, SenderSettings
    from kraiter.models import ApiKey, Organisation
    from kraiter.services import api_key_create

    prepare_template()  # the "Send load" organisation and its receipt template
    organisation = Organisation.objects.get(name="Send load")
    Domain.objects.filter(name=DOMAIN).exclude(organisation=organisation).delete()
    Domain.objects.update_or_create(
        name=DOMAIN, defaults={"organisation": organisation, "status": "verified", "sending_enabled": True}
    )
    SenderSettings.objects.update_or_create(
        organisation=organisation, defaults={"from_name": "Receipts", "from_email": f"receipts@{DOMAIN}"}
    )
    ApiKey.objects.filter(organisation=organisation).delete()
    return Organisation.objects.get(pk=organisation.pk), api_key_create(organisation=organisation, name="q").raw_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=2000, help="sends per pass")
    parser.add_argument("--profile", type=int, default=0, help="also profile this many sends (cProfile, CPU time)")
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test import Client

    from sends.services import send_transactional

    organisation, key = prepare()
    run = time.time_ns()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")

    def service(n: int) -> None:
        send_transactional(
            organisation=organisation,  # type: ignore[arg-type]
            to=f"q{run}-{n}@example.com",
            template_id="receipt",
            variables={"firstName": "Ann", "orderId": f"#{n}"},
        )

    def api(n: int) -> None:
        body = {"to": f"q{run}-{n}@example.com", "templateId": "receipt", "variables": {"firstName": "Ann"}}
        response = client.post("/api/send", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content

    print(f"machine: {machine()}; load average {os.getloadavg()}")
    for n in range(50):  # warm up: imports, parsed templates, connections
        service(-n - 1)
        api(-n - 1)
    results: list[dict[str, object]] = []
    statements: list[str] = []

    def count(execute: Any, sql: str, *rest: Any) -> Any:
        statements.append(sql)
        return execute(sql, *rest)

    connection.execute_wrappers.append(count)
    for name, call, offset, known in (
        ("service, new contact", service, 0, False),
        ("service, known contact", service, 0, True),
        ("API (test client), new contact", api, 10_000_000, False),
        ("API (test client), known contact", api, 10_000_000, True),
    ):
        flush_redis()
        statements.clear()
        call(offset + (0 if known else 5_000_000 + len(results)))  # known: the first pass made it
        queries = len(statements)
        before_cpu, before_wall, before_others = time.process_time(), time.perf_counter(), cpu_by_program()
        for n in range(args.sends):
            call(offset + n)
        cpu, wall = time.process_time() - before_cpu, time.perf_counter() - before_wall
        others = cpu_by_program()
        results.append(
            {
                "case": name,
                "sends": args.sends,
                "cpu_ms_per_send": round(cpu * 1000 / args.sends, 2),
                "wall_ms_per_send": round(wall * 1000 / args.sends, 2),
                "postgres_cpu_ms_per_send": round(
                    (others["postgres"] - before_others["postgres"]) * 1000 / args.sends, 2
                ),
                "redis_cpu_ms_per_send": round(
                    (others["redis-server"] - before_others["redis-server"]) * 1000 / args.sends, 2
                ),
                "statements": queries,  # SQL statements of one send, SAVEPOINTs included, BEGIN/COMMIT not
                "load_average": os.getloadavg(),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    connection.execute_wrappers.clear()
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for n in range(args.profile):
            service(20_000_000 + n)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    flush_redis()


if __name__ == "__main__":
    main()

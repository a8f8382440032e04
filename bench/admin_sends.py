"""The admin's send list and search on the 10-million-send data set (bench/scale_data.py first).

    .venv/bin/python bench/admin_sends.py

A superuser's session requests the change list through the whole Django stack in-process (server
time: session, filters, the bounded count, the page of 50, the template), 20 times per case.
Target (issue 17): p95 at most 300 ms for every case. The plan of each case's queries is printed
when asked (`--plans`).
"""

import argparse
import json
import statistics
import time

from common import machine, setup_django

REPEAT = 20


def cases(organisation_id: str, send_id: str, message_id: str) -> list[tuple[str, str]]:
    base = f"organisation={organisation_id}"
    return [
        ("list, the default organisation (6 M sends)", ""),
        ("list, one organisation", base),
        ("list, all organisations (10 M)", "organisation=all"),
        ("status=bounced", f"{base}&status__exact=bounced"),
        ("template", f"{base}&template=template-3"),
        ("status and template", f"{base}&status__exact=complained&template=template-3"),
        ("created in the past 7 days", f"{base}&created=7"),
        ("page 100 (rows 4,951-5,000)", f"{base}&p=99"),
        ("search: a whole address", "organisation=all&q=user4242@example.com"),
        ("search: part of an address", "organisation=all&q=user4242"),
        ("search: part of a subject", f"{base}&q=from+template+13"),
        ("search: a send id", f"organisation=all&q={send_id}"),
        ("search: an SES message id", f"organisation=all&q={message_id}"),
        ("search: a name nobody has", "organisation=all&q=Zebedee+Quux"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", action="store_true", help="print each case's SQL plans once")
    parser.add_argument("--queries", action="store_true", help="print each case's queries with their times")
    parser.add_argument("--only", default="", help="run only the cases whose label contains this")
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kraiter.models import Organisation
    from sends.models import Send

    organisation = Organisation.objects.get(name="Scale 0")
    user = get_user_model().objects.filter(username="bench-admin").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", "bench-password-1")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    sample = Send.objects.filter(organisation=organisation).order_by("-id").values("id", "ses_message_id")[5000]
    print(f"machine: {machine()}")
    for label, query in cases(organisation.id, sample["id"], sample["ses_message_id"]):
        if args.only not in label:
            continue
        url = f"/admin/sends/send/?{query}"
        timings = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        shown = response.content.count(b'class="action-checkbox"') or response.content.count(b"<tr")
        print(json.dumps({"case": label, "query": query, "rows_on_page": shown, "queries": len(queries),
                          "p50_ms": round(statistics.median(timings), 1),
                          "p95_ms": round(timings[int(0.95 * REPEAT) - 1], 1)}))  # fmt: skip
        if args.queries:
            for each in queries.captured_queries:
                print(f"    {float(each['time']) * 1000:7.1f} ms  {each['sql'][:150]}")
        if args.plans:
            slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
                print("\n".join(f"    {line}" for (line,) in cursor.fetchall()))


if __name__ == "__main__":
    main()

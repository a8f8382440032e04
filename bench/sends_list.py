"""GET /api/sends on the 10-million-send data set (bench/scale_data.py first).

    .venv/bin/python bench/sends_list.py

For each filter: the first page, and a page a million rows deep (or as deep as the filter
goes), through the whole Django stack in-process (server time, no network), 50 times each.
Target (issue 3): p95 at most 30 ms at any depth.
"""

import json
import statistics
import time

from common import machine, setup_django

REPEAT = 50
DEPTH = 1_000_000
FILTERS = [
    "",
    "status=bounced",
    "status=delivered",
    "templateId=template-3",
    "source=sequence",
    "sourceId=sequence-2",
    "email=user4242@example.com",
    "contactId={contact}",
    "status=complained&templateId=template-3",
]


def main() -> None:
    setup_django()
    from django.db import connection
    from django.test import Client, RequestFactory

    from kraiter.api.ids import uuid_to_id
    from kraiter.api.pagination import encode_cursor
    from kraiter.models import ApiKey, Organisation
    from kraiter.services import api_key_create
    from sends.filters import SendFilter
    from sends.models import Send
    from sends.selectors import send_list

    organisation = Organisation.objects.get(name="Scale 0")
    ApiKey.objects.filter(organisation=organisation).delete()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(organisation=organisation, name='bench').raw_key}",
                    HTTP_HOST="127.0.0.1")  # fmt: skip
    contact = Send.objects.filter(organisation=organisation, email="user4242@example.com").values_list(
        "contact_id", flat=True
    )[0]
    print(f"machine: {machine()}; {Send.objects.filter(organisation=organisation).count():,} sends in the organisation")
    for query in FILTERS:
        query = query.format(contact=contact)
        filterset = SendFilter(
            data=RequestFactory().get(f"/?{query}").GET, queryset=send_list(organisation=organisation)
        )
        assert filterset.is_valid(), filterset.errors
        filters = {k: v for k, v in filterset.form.cleaned_data.items() if v not in (None, "")}
        sql, params = filterset.qs.order_by("-id").values_list("id", flat=True).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({sql}) AS matching", params)
            matching = cursor.fetchone()[0]
            depth = min(DEPTH, max(matching - 50, 0))
            cursor.execute(f"{sql} OFFSET %s LIMIT 1", [*params, depth])
            row = cursor.fetchone()
        cursor_at_depth = encode_cursor({"id": uuid_to_id(row[0], "snd")}, filters) if row else None
        results = {"filter": query or "(none)", "matching": matching}
        for label, cursor_value in (("first page", None), (f"{depth:,} deep", cursor_at_depth)):
            url = f"/api/sends?limit=20&{query}" + (f"&cursor={cursor_value}" if cursor_value else "")
            timings = []
            for _ in range(REPEAT):
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.content
            timings.sort()
            results[label] = {"p50_ms": round(statistics.median(timings), 2),
                              "p95_ms": round(timings[int(0.95 * REPEAT) - 1], 2)}  # fmt: skip
        print(json.dumps(results))


if __name__ == "__main__":
    main()

"""GET /api/metrics on the 10-million-send data set, against the naive GROUP BY over sends.

    .venv/bin/python bench/scale_data.py          # first: the data set and its rollups
    .venv/bin/python bench/metrics_queries.py

Target (issue 6): p95 at most 50 ms for each query, organisation and template.
"""

import json
import statistics
import time
from datetime import timedelta

from common import machine, setup_django

REPEAT = 30
NAIVE_REPEAT = 5
CASES = [("90 days by day", "day", timedelta(days=90)), ("7 days by hour", "hour", timedelta(days=7)),
         ("13 months by month", "month", timedelta(days=396))]  # fmt: skip
NAIVE = """
SELECT date_trunc(%(period)s, {field} AT TIME ZONE 'UTC') AS bucket, count(*)
FROM sends_send
WHERE organisation_id = %(organisation)s AND {field} >= %(start)s AND {field} < %(end)s {scope}
GROUP BY 1
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def main() -> None:
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from kraiter.models import ApiKey, Organisation
    from kraiter.services import api_key_create
    from metrics.queries import metrics_range
    from sends.models import COUNTERS, MetricRollup, Send

    organisation = Organisation.objects.get(name="Scale 0")
    ApiKey.objects.filter(organisation=organisation).delete()
    key = api_key_create(organisation=organisation, name="bench").raw_key
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")
    print(f"machine: {machine()}; rollup rows: {MetricRollup.objects.count():,}")
    organisation_uuid = MetricRollup._meta.get_field("organisation").get_db_prep_value(organisation.id, connection)
    now = timezone.now()
    # The naive report reads each counter's timestamp on the sends; unsubscribes are events of
    # the contact, with no column on the send, so they are left out of it.
    columns = {field.name for field in Send._meta.get_fields()}
    timed = [name for name in COUNTERS if f"{name}_at" in columns]
    for scope_label, path, scope_sql in [
        ("organisation", "/api/metrics", ""),
        ("template", "/api/metrics/templates/template-3", "AND template_slug = 'template-3'"),
    ]:
        if scope_label == "template":
            from templates_app.models import Template

            Template.objects.get_or_create(
                organisation=organisation, slug="template-3",
                defaults={"name": "Template 3", "subject": "x", "html": "<p>x</p>"},
            )  # fmt: skip
        for label, period, span in CASES:
            start, end = now - span, now
            url = f"{path}?period={period}&from={start.isoformat()}&to={end.isoformat()}".replace("+", "%2B")
            timings = []
            for _ in range(REPEAT):
                began = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, response.content
            api_totals = response.json()["totals"]
            points = metrics_range({"period": period, "from": start.isoformat(), "to": end.isoformat()})
            start, end = points.points[0], points.after_last  # the same whole periods the API counts
            naive_timings, naive_totals = [], {}
            for _ in range(NAIVE_REPEAT):
                began = time.perf_counter()
                with connection.cursor() as cursor:
                    for name in timed:
                        sql = NAIVE.format(field=f"{name}_at", scope=scope_sql)
                        cursor.execute(
                            sql, {"period": period, "organisation": organisation_uuid, "start": start, "end": end}
                        )
                        naive_totals[name] = sum(count for _, count in cursor.fetchall())
                naive_timings.append((time.perf_counter() - began) * 1000)
            print(json.dumps({
                "scope": scope_label, "query": label, "points": len(response.json()["timeseries"]),
                "rollups_p50_ms": percentile(timings, 0.5), "rollups_p95_ms": percentile(timings, 0.95),
                "naive_p50_ms": round(statistics.median(naive_timings), 1),
                "ratio": round(statistics.median(naive_timings) / statistics.median(timings), 1),
                "sent": api_totals["sent"], "naive_sent": naive_totals["sent"],
            }))  # fmt: skip


if __name__ == "__main__":
    main()

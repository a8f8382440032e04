"""Builds the 10-million-send data set the list and metrics benchmarks read.

    .venv/bin/python bench/scale_data.py            # once; about half an hour on 2 cores
    .venv/bin/python bench/scale_data.py --rollups  # rebuild the metrics rollups (backfill_metrics)
    BENCH_DATABASE=kraiter_bench_30m .venv/bin/python bench/scale_data.py --total 30000000 --no-rollups

`--total` sets the size (the same shares: "Scale 0" holds 60 %), in its own database.

Ten organisations; "Scale 0" holds 6 million sends, the nine others 4 million between them,
all spread over the year before now, with a realistic mix of statuses, 20 templates, 5
sequences, 200,000 recipients per organisation, and engagement timestamps. Rows are written
with SQL (generate_series) with the indexes dropped, then the indexes are rebuilt.
"""

import argparse
import time
from io import StringIO

from common import setup_django

TOTAL = 10_000_000
BIG_SHARE = 0.6  # of the sends, in "Scale 0"
CHUNK = 1_000_000
DAYS = 365


def generate(total: int) -> None:
    from django.db import connection

    from kraiter.models import Organisation
    from kraiter.services import organisation_create

    organisations = [
        Organisation.objects.filter(name=f"Scale {n}").first()
        or organisation_create(name=f"Scale {n}", sending_status="enabled")
        for n in range(10)
    ]
    ids = [str(Organisation._meta.pk.get_db_prep_value(o.id, connection)) for o in organisations]  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sends_send WHERE organisation_id = %s::uuid", [ids[0]])
        if cursor.fetchone()[0] >= total * BIG_SHARE * 0.99:
            print("The data set is already there.")
            return
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'sends_send' AND indexname <> 'sends_send_pkey'"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'sends_send'::regclass AND contype = 'f'"
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE sends_send DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET maintenance_work_mem = '1GB'")
        started = time.monotonic()
        try:
            for first in range(0, total, CHUNK):
                last = min(first + CHUNK, total) - 1
                cursor.execute(INSERT, {"first": first, "last": last, "total": total,
                                        "orgs": ids, "days": DAYS})  # fmt: skip
                print(f"  {last + 1:>10,} rows  {time.monotonic() - started:6.0f} s", flush=True)
        finally:  # the indexes and keys come back whatever happened (a rerun reads them from the table)
            for name, definition in indexes:
                began = time.monotonic()
                cursor.execute(definition)
                print(f"  index {name}: {time.monotonic() - began:.0f} s", flush=True)
            for name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE sends_send ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("VACUUM ANALYZE sends_send")
        print(f"Generated {total:,} sends in {time.monotonic() - started:.0f} s")


# One row per n: organisation, time (spread over the year), template, source, status and the
# engagement timestamps that status implies. `r` is a cheap deterministic hash of n.
INSERT = """
WITH numbers AS (
    SELECT n, (n * 2654435761 %% 1000) AS r, (n * 40503 %% 3600) AS jitter,
           CASE WHEN n %% 10 < 6 THEN 0 ELSE 1 + (n / 10) %% 9 END AS org
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
), rows AS (
    SELECT n, r, jitter, org,
           now() - make_interval(secs => (%(days)s * 86400.0) * (1 - n::float8 / %(total)s)) AS created,
           CASE WHEN r < 5 THEN 'rejected' WHEN r < 10 THEN 'queued' WHEN r < 40 THEN 'bounced'
                WHEN r < 45 THEN 'complained' WHEN r < 300 THEN 'sent' ELSE 'delivered' END AS status
    FROM numbers
)
INSERT INTO sends_send (
    id, organisation_id, contact_id, email, template_slug, template_name, subject, status, source, source_id,
    step, created_at, sent_at, delivered_at, opened_at, clicked_at, bounced_at, complained_at, ses_message_id,
    attempts, recorded_attempt, ignore_unsubscribe, uncertain_attempts
)
SELECT
    (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || substr(md5(n::text), 1, 20))::uuid,
    (%(orgs)s::uuid[])[org + 1],
    md5('contact' || org || '-' || (n %% 200000))::uuid,
    'user' || (n %% 200000) || '@example.com',
    'template-' || (n %% 20), 'Template ' || (n %% 20), 'Hello from template ' || (n %% 20),
    status,
    CASE WHEN n %% 10 < 3 THEN 'sequence' ELSE 'transactional' END,
    CASE WHEN n %% 10 < 3 THEN 'sequence-' || (n %% 5) END,
    CASE WHEN n %% 10 < 3 THEN 1 + n %% 3 END,
    created,
    CASE WHEN status NOT IN ('rejected', 'queued') THEN created + interval '1 second' END,
    CASE WHEN status IN ('delivered', 'complained') THEN created + interval '3 seconds' END,
    CASE WHEN status = 'delivered' AND r %% 3 = 0 THEN created + make_interval(secs => 60 + jitter * 4) END,
    CASE WHEN status = 'delivered' AND r %% 9 = 0 THEN created + make_interval(secs => 120 + jitter * 4) END,
    CASE WHEN status = 'bounced' THEN created + interval '5 seconds' END,
    CASE WHEN status = 'complained' THEN created + interval '1 hour' END,
    CASE WHEN status NOT IN ('rejected', 'queued') THEN 'ses-' || n END,
    CASE WHEN status = 'queued' THEN 0 ELSE 1 END,
    CASE WHEN status = 'queued' THEN 0 ELSE 1 END,
    false,
    '[]'::jsonb
FROM rows
"""


def rollups() -> None:
    from django.core.management import call_command
    from django.utils import timezone

    started = time.monotonic()
    out = StringIO()
    end = timezone.now() + timezone.timedelta(days=1)
    call_command("backfill_metrics", "--from", (end - timezone.timedelta(days=DAYS + 2)).isoformat(),
                 "--to", end.isoformat(), stdout=out)  # fmt: skip
    print(out.getvalue().strip(), f"in {time.monotonic() - started:.0f} s")
    # The backfill replaces every rollup row: until a vacuum has run, the metrics' index-only
    # scans visit the heap for each row (146 ms instead of ~15 ms for 13 months of a template
    # at 10 M sends), which autovacuum would fix in its own time; the benchmark does it now.
    from django.db import connection

    from sends.models import MetricRollup

    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM ANALYZE "{MetricRollup._meta.db_table}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollups", action="store_true", help="only rebuild the metrics rollups")
    parser.add_argument("--total", type=int, default=TOTAL, help="sends in all (10 million)")
    parser.add_argument("--no-rollups", action="store_true", help="the sends only (lists, admin, dispatcher)")
    args = parser.parse_args()
    setup_django()
    if not args.rollups:
        generate(args.total)
    if not args.no_rollups:
        rollups()


if __name__ == "__main__":
    main()

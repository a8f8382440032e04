"""Builds the events data set bench/events_lists.py reads (issue 13), in its own database.

    BENCH_DATABASE=kraiter_bench13 .venv/bin/python bench/events_data.py [--events 50000000]

One organisation, "Events 0", with 500,000 contacts and 50 million events spread over the year
before now (system `email.*` events with their send, and custom events); one contact of it,
heavy@example.com, has 10,000 of those events, 3,000 sends and 300 enrolments (a third of them
still active) and is unsubscribed, so its timeline merges every source. Another 500,000 sends
belong to the other contacts. Rows are written with SQL (generate_series) in chunks on two
connections, with the event table's secondary indexes and foreign keys dropped; the indexes
are rebuilt after (the ones the lists read first), the foreign keys re-added NOT VALID (the
rows are made valid by construction), then VACUUM ANALYZE. Nothing is done when the data set
is already there. It stops short of the size asked for when the disk would keep less than
20 GB free once the indexes are built (the size reached is printed).
"""

import argparse
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("BENCH_DATABASE", "kraiter_bench13")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

from common import setup_django

EVENTS = 50_000_000
CONTACTS = 500_000
HEAVY_EVENTS = 10_000
HEAVY_SENDS = 3_000
OTHER_SENDS = 500_000
ENROLMENTS = 300
CHUNK = 2_500_000
DAYS = 365
KEEP_FREE = 20 * 1024**3
# Read first by the lists: built first, so a benchmark could start before the others exist.
INDEX_ORDER = ("event_org_time_idx", "event_contact_time_idx", "event_name_org_idx")
ORGANISATION = "Events 0"
HEAVY_EMAIL = "heavy@example.com"


def organisation_id() -> str:
    from django.db import connection

    from kraiter.models import Organisation
    from kraiter.services import organisation_create

    organisation = Organisation.objects.filter(name=ORGANISATION).first() or organisation_create(
        name=ORGANISATION, sending_status="enabled"
    )
    return str(Organisation._meta.pk.get_db_prep_value(organisation.id, connection))  # type: ignore[union-attr]


def generate(events: int = EVENTS) -> int:
    """Builds the data set if it is not there; returns the number of events of the organisation."""
    from django.db import connection

    org = organisation_id()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_event WHERE organisation_id = %s::uuid", [org])
        existing = cursor.fetchone()[0]
        if existing:
            print(f"The data set is already there ({existing:,} events).")
            return existing
        started = time.monotonic()
        parameters = {"org": org, "contacts": CONTACTS, "days": DAYS, "heavy_sends": HEAVY_SENDS,
                      "other_sends": OTHER_SENDS, "enrolments": ENROLMENTS, "heavy": HEAVY_EMAIL}  # fmt: skip
        cursor.execute(CONTACTS_SQL, parameters)
        cursor.execute(SENDS_SQL, parameters)
        cursor.execute(ENROLMENTS_SQL, parameters)
        print(f"  contacts, sends, enrolments: {time.monotonic() - started:.0f} s", flush=True)
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'contacts_event' AND indexname <> 'contacts_event_pkey'"
        )
        indexes = sorted(cursor.fetchall(), key=lambda i: (*INDEX_ORDER, i[0]).index(i[0]))
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'contacts_event'::regclass AND contype = 'f'"
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE contacts_event DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    connection.close()

    step = max(events // HEAVY_EVENTS, 1)
    chunks = [(first, min(first + CHUNK, events) - 1) for first in range(0, events, CHUNK)]
    written = 0

    def insert(chunk: tuple[int, int]) -> int:
        from django.db import connection

        free = shutil.disk_usage("/work").free
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('contacts_event')")
            # The secondary indexes still to build take about as much again as the table.
            if free - cursor.fetchone()[0] * 1.3 - CHUNK * 300 < KEEP_FREE:
                return 0
            values = {"first": chunk[0], "last": chunk[1], "total": events, "step": step, "org": org,
                      "contacts": CONTACTS, "days": DAYS, "heavy": HEAVY_EMAIL}  # fmt: skip
            cursor.execute(EVENTS_SQL, values)
        connection.close()
        return chunk[1] - chunk[0] + 1

    with ThreadPoolExecutor(2) as pool:
        for rows in pool.map(insert, chunks):
            written += rows
            print(f"  {written:>11,} events  {time.monotonic() - started:6.0f} s", flush=True)
    if written < events:
        print(f"Stopped at {written:,} events: the disk would keep less than 20 GB free.")

    def build(statement: str) -> None:
        from django.db import connection

        began = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute(statement)
        connection.close()
        print(f"  {statement[:60]}...: {time.monotonic() - began:.0f} s", flush=True)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(build, [definition for _, definition in indexes]))
    with connection.cursor() as cursor:
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE contacts_event ADD CONSTRAINT "{name}" {definition} NOT VALID')
        began = time.monotonic()
        cursor.execute("VACUUM ANALYZE contacts_event")
        cursor.execute("VACUUM ANALYZE contacts_contact")
        cursor.execute("VACUUM ANALYZE sends_send")
        cursor.execute("VACUUM ANALYZE scheduling_enrolment")
        print(f"  vacuum analyze: {time.monotonic() - began:.0f} s")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('contacts_event'))")
        print(f"Generated {written:,} events in {time.monotonic() - started:.0f} s; table and indexes: "
              f"{cursor.fetchone()[0]}")  # fmt: skip
    return written


# Contact 0 is the heavy one; ids are md5s (any 128 bits is a ULID).
CONTACTS_SQL = """
INSERT INTO contacts_contact (id, organisation_id, email, properties, unsubscribed, unsubscribed_at, suppressed,
                              created_at, updated_at)
SELECT md5('contact-' || k)::uuid, %(org)s::uuid,
       CASE WHEN k = 0 THEN %(heavy)s ELSE 'user' || k || '@example.com' END,
       '{}'::jsonb, k = 0, CASE WHEN k = 0 THEN now() - interval '2 days' END, false,
       now() - make_interval(days => %(days)s), now()
FROM generate_series(0, %(contacts)s - 1) AS k
"""

# The heavy contact's sends, then the other contacts' sends; ids carry their time (ULID).
SENDS_SQL = """
WITH rows AS (
    SELECT n, CASE WHEN n < %(heavy_sends)s THEN 0 ELSE 1 + n %% (%(contacts)s - 1) END AS k,
           now() - make_interval(secs => %(days)s * 86400.0 * (1 - (n %% %(heavy_sends)s + 0.5) / %(heavy_sends)s)
                                          + n %% 977) AS created
    FROM generate_series(0, %(heavy_sends)s + %(other_sends)s - 1) AS n
)
INSERT INTO sends_send (
    id, organisation_id, contact_id, email, template_slug, template_name, subject, status, source, source_id, step,
    created_at, sent_at, delivered_at, ses_message_id, attempts, ignore_unsubscribe, recorded_attempt,
    uncertain_attempts
)
SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || substr(md5('send' || n), 1, 20))::uuid,
       %(org)s::uuid, md5('contact-' || k)::uuid,
       CASE WHEN k = 0 THEN %(heavy)s ELSE 'user' || k || '@example.com' END,
       'template-' || n %% 20, 'Template ' || n %% 20, 'Hello from template ' || n %% 20, 'delivered',
       CASE WHEN n %% 10 < 3 THEN 'sequence' ELSE 'transactional' END,
       CASE WHEN n %% 10 < 3 THEN 'sequence-' || n %% 5 END, CASE WHEN n %% 10 < 3 THEN 1 + n %% 3 END,
       created, created + interval '1 second', created + interval '3 seconds', 'ses-' || n, 1, false, 1, '[]'::jsonb
FROM rows
"""

ENROLMENTS_SQL = """
WITH rows AS (
    SELECT n, now() - make_interval(secs => %(days)s * 86400.0 * (1 - (n + 0.5) / %(enrolments)s)) AS created
    FROM generate_series(0, %(enrolments)s - 1) AS n
)
INSERT INTO scheduling_enrolment (id, organisation_id, contact_id, sequence_slug, status, current_step, ended_reason,
                                  ended_at, notes, created_at, updated_at)
SELECT (lpad(to_hex((extract(epoch FROM created) * 1000)::bigint), 12, '0') || substr(md5('enr' || n), 1, 20))::uuid,
       %(org)s::uuid, md5('contact-0')::uuid, 'sequence-' || n,
       (ARRAY['active', 'completed', 'exited'])[1 + n %% 3], 1 + n %% 3,
       CASE WHEN n %% 3 = 2 THEN 'A condition did not hold.' ELSE '' END,
       CASE WHEN n %% 3 <> 0 THEN created + interval '3 days' END, '', created, created
FROM rows
"""

# One event per n, newest last; every `step`-th is the heavy contact's. `r` is a cheap hash of n.
EVENTS_SQL = """
WITH numbers AS (
    SELECT n, ((n + n / %(step)s) * 2654435761 %% 1000) AS r,  -- n / step: the heavy contact's rows vary too
           CASE WHEN n %% %(step)s = 0 THEN 0 ELSE 1 + (n * 7919) %% (%(contacts)s - 1) END AS k,
           now() - make_interval(secs => %(days)s * 86400.0 * (1 - n::float8 / %(total)s)) AS at
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
), named AS (
    SELECT n, r, k, at,
           CASE WHEN r < 250 THEN 'email.sent' WHEN r < 480 THEN 'email.delivered' WHEN r < 630 THEN 'email.opened'
                WHEN r < 690 THEN 'email.clicked' WHEN r < 700 THEN 'email.bounced'
                WHEN r < 703 THEN 'email.complained' WHEN r < 706 THEN 'email.unsubscribed'
                WHEN r < 900 THEN 'page_viewed' WHEN r < 960 THEN 'purchase' ELSE 'signed_up' END AS name
    FROM numbers
)
INSERT INTO contacts_event (id, organisation_id, contact_id, name, properties, timestamp, send_id, created_at,
                            reacted_at, reaction_notes)
SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || substr(md5('evt' || n), 1, 20))::uuid,
       %(org)s::uuid, md5('contact-' || k)::uuid, name,
       CASE WHEN r < 706 THEN jsonb_strip_nulls(jsonb_build_object(
                'sendId', 'snd_01' || upper(substr(md5('send' || n / 3), 1, 24)),
                'templateId', 'template-' || n %% 20,
                'source', CASE WHEN n %% 10 < 3 THEN 'sequence' ELSE 'transactional' END,
                'sourceId', CASE WHEN n %% 10 < 3 THEN 'sequence-' || n %% 5 END,
                'url', CASE WHEN r >= 630 AND r < 690 THEN 'https://example.com/offer/' || n %% 50 END,
                'bounceType', CASE WHEN r >= 690 AND r < 700 THEN 'Permanent' END))
            WHEN r < 900 THEN jsonb_build_object('path', '/page/' || n %% 100)
            WHEN r < 960 THEN jsonb_build_object('amount', n %% 500, 'currency', 'EUR')
            ELSE jsonb_build_object('plan', 'pro') END,
       at, CASE WHEN r < 706 THEN md5('send' || n / 3)::uuid END, at, at, '[]'::jsonb
FROM named
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=EVENTS, help="events of the organisation (default 50 M)")
    args = parser.parse_args()
    setup_django()
    generate(args.events)


if __name__ == "__main__":
    main()

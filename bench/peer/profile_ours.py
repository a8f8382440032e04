"""Where our delivery CPU goes: cProfile of sends.delivery.deliver_send, one thread, in-process.

    .venv/bin/python bench/peer/profile_ours.py --messages 1000

The same settings as a worker of bench/peer/run.py (django-ses into the stand-in SES, here in a
thread of this process, no SES limit), the same backlog (bench/delivery_rate.py's queue_backlog).
Prints the main thread's CPU per delivered email without the profiler (time.thread_time: the
stand-in's threads are not counted), then the profile's top functions by own time and by
cumulative time. Not run by run.py; cheap enough to run without the lock (1,000 sends).
"""

import argparse
import cProfile
import io
import pstats
import tempfile
import time

from run import ENV, setup_django  # run.py points this process at the bench's database and paths

PORT = 8695


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    ENV.update(
        {
            "EMAIL_BACKEND": "django_ses.SESBackend",
            "AWS_SES_REGION_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "SES_MAX_SEND_RATE": "100000",
            "DEFAULT_FROM_EMAIL": "bench@example.com",
            "DOMAIN_IDENTITY_SERVICE": "local",
            "ALLOW_DEFAULT_SENDER": "1",  # in-process the backlog is made under the workers' settings
            "VAR_DIR": tempfile.mkdtemp(prefix="peer-bench-profile-"),
        }
    )
    setup_django()
    from delivery_rate import queue_backlog

    from sends.delivery import deliver_send
    from tests.standin_ses import StandinSes

    with StandinSes(port=PORT) as ses:
        warm = queue_backlog(50)
        for send_id in warm:
            deliver_send(send_id)
        ids = queue_backlog(args.messages)
        half = len(ids) // 2
        start = time.thread_time()
        for send_id in ids[:half]:
            deliver_send(send_id)
        plain_ms = (time.thread_time() - start) * 1000 / half
        profiler = cProfile.Profile(time.thread_time)  # CPU, not waiting on PostgreSQL or SES
        profiler.enable()
        for send_id in ids[half:]:
            deliver_send(send_id)
        profiler.disable()
        delivered = len({m.send_id for m in ses.accepted} & set(ids))
    print(f"delivered {delivered} of {len(ids)}; CPU of the delivering thread, unprofiled: {plain_ms:.2f} ms per email")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()

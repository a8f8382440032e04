"""Side by side with django-post-office (issue 17): the same job through ours and the peer, in one run.

    flock /tmp/bench.lock .venv/bin/python bench/peer/run.py            # 5,000 messages, ~20-30 min
    .venv/bin/python bench/peer/run.py --messages 200 --quick           # a smoke run

See bench/peer/README.md for what each step does and how it is measured. Prints one JSON object
per step (stderr: progress) and, at the end, the table of ratios (ours / peer) in Markdown.
"""

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
os.environ.setdefault("BENCH_DATABASE", "kraiter_peer_ours")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from common import ENV, PYTHON, cpu_seconds, flush_redis, machine, organisation_with_note, setup_django  # noqa: E402

PEER_DATABASE = "kraiter_peer_po"
PEER_PYTHON = HERE / ".venv" / "bin" / "python"
PEER_JOB = HERE / "peer_job.py"
PEER_PACKAGES = ["django-post-office==3.12.0", "django-ses==4.8.2", "Django>=5.2,<5.3", "psycopg[binary]>=3.2"]
SES_PORTS = iter(range(8610, 8690))  # this bench's ports: 8600-8699
UNTHROTTLED_RATE = 100_000.0  # what our limiter is told when SES has no limit
KILL_AT = 0.43  # the kills come when this fraction has reached SES: mid-batch for the peer (100, 1000)
RESTART_AFTER = 3.0  # seconds before a killed worker of ours is started again (a supervisor)
CRON_EVERY = 60.0  # the peer's send_queued_mail is started every minute (post_office's cron line)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the peer's virtualenv and database ------------------------------------------------------------


def ensure_peer_venv() -> None:
    """bench/peer/.venv with django-post-office and django-ses, made with python3.11 (not ours)."""
    if not PEER_PYTHON.exists():
        log("creating bench/peer/.venv")
        subprocess.run(["python3.11", "-m", "venv", str(HERE / ".venv")], check=True)
    check = "import importlib.util as u, sys; sys.exit(not all(map(u.find_spec, sys.argv[1:])))"
    probe = subprocess.run([str(PEER_PYTHON), "-c", check, "post_office", "django_ses", "psycopg"], capture_output=True)
    if probe.returncode != 0:
        log("installing " + " ".join(PEER_PACKAGES))
        subprocess.run([str(PEER_PYTHON), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True, timeout=600)


def peer_job(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    done = subprocess.run(
        [str(PEER_PYTHON), str(PEER_JOB), *args],
        capture_output=True,
        text=True,
        env=env or peer_env(),
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"peer_job {args}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peer_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, "PEER_DATABASE": PEER_DATABASE, "DJANGO_SETTINGS_MODULE": "peerproject.settings", **extra}


def peer_rows() -> list[tuple[str, int]]:
    """(X-Kraiter-Send-Id, status) of every email in the peer's outbox, read directly."""
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{PEER_DATABASE}") as connection:
        return [
            (row[0] or "", row[1])
            for row in connection.execute("SELECT headers->>'X-Kraiter-Send-Id', status FROM post_office_email")
        ]


PEER_SENT, PEER_FAILED, PEER_QUEUED, PEER_REQUEUED = 0, 1, 2, 3


# --- one delivery run, either system ----------------------------------------------------------------


@dataclass
class Run:
    system: str
    rate: float | None
    kill: bool
    ids: list[str]
    started: float = 0.0  # time.monotonic() when the backlog was handed to the delivery processes
    killed_at: float | None = None
    kills: list[int] = field(default_factory=list)
    timed_out: bool = False
    cpu_s: float | None = None
    invocations: int = 0
    notes: list[str] = field(default_factory=list)


def summarise(run: Run, ses: Any, final: dict[str, str]) -> dict[str, Any]:
    """final: send id -> 'pending' (may still go out) or 'final' (never will, unless already out)."""
    wanted = set(run.ids)
    first: dict[str, float] = {}
    copies: dict[str, int] = {}
    unmarked = 0  # copies after the first without our X-Kraiter-Resend-Of mark (every peer copy)
    for message in ses.accepted:
        if message.send_id in wanted:
            copies[message.send_id] = copies.get(message.send_id, 0) + 1
            first.setdefault(message.send_id, message.at)
            unmarked += copies[message.send_id] > 1 and not message.resend_of
    times = sorted(first.values())
    delivered = len(first)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    not_delivered = wanted - set(first)
    lost = sorted(i for i in not_delivered if final.get(i) == "final")
    result: dict[str, Any] = {
        "system": run.system,
        "ses_rate": run.rate or "unthrottled",
        "kill": run.kill,
        "messages": len(run.ids),
        "delivered": delivered,
        "delivered_per_s": round((delivered - 1) / span, 1) if span else 0.0,
        "first_to_last_s": round(span, 1),
        "start_to_last_s": round(times[-1] - run.started, 1) if times else None,
        "throttled_by_ses": ses.throttled,
        "lost": len(lost),
        "pending_at_end": len(not_delivered) - len(lost),
        "duplicates": sum(n - 1 for n in copies.values() if n > 1),
        "duplicates_unmarked": unmarked,
        "cpu_ms_per_delivered": round(run.cpu_s * 1000 / delivered, 2) if run.cpu_s is not None and delivered else None,
        "timed_out": run.timed_out,
        "load_average": load_average(),
    }
    if run.kill:
        result["kill_after_s"] = round(run.killed_at - run.started, 1) if run.killed_at else None
        result["killed_pids"] = run.kills
    if run.invocations:
        result["send_queued_mail_invocations"] = run.invocations
    if run.notes:
        result["notes"] = run.notes
    if lost:
        result["lost_examples"] = lost[:5]
    return result


def standin_ses(rate: float | None) -> Any:
    """tests.standin_ses.StandinSes on this bench's next port, quiet about the connections of
    killed processes."""
    from tests.standin_ses import StandinSes

    class QuietSes(StandinSes):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    return QuietSes(rate=rate, port=next(SES_PORTS))


def connected_to(port: int, pids: list[int]) -> list[int]:
    """Those of `pids` holding an established TCP connection to 127.0.0.1:port."""
    sockets = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2] == f"0100007F:{port:04X}" and fields[3] == "01":
            sockets.add(f"socket:[{fields[9]}]")
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in sockets for fd in os.listdir(f"/proc/{pid}/fd")):
                found.append(pid)
    return found


def distinct_accepted(ses: Any, wanted: set[str]) -> int:
    return len({m.send_id for m in list(ses.accepted) if m.send_id in wanted})


# --- ours -------------------------------------------------------------------------------------------


def ours_prepare() -> tuple[Any, str]:
    from kraiter.models import Organisation
    from kraiter.services import api_key_create

    Organisation.objects.all().delete()  # this bench's own database
    organisation = organisation_with_note("Peer bench")
    return organisation, api_key_create(organisation=organisation, name="peer-bench").raw_key


def ours_enqueue(count: int) -> dict[str, Any]:
    """The send service (sends.services.send_transactional) and POST /api/send through Django's
    test client (the whole Django stack in-process: middleware, authentication, DRF, no socket),
    each `count` times, publishing to a Celery queue nobody consumes (flushed afterwards)."""
    from django.test import Client

    from kraiter.celery import app
    from sends.models import Send
    from sends.services import send_transactional

    organisation, key = ours_prepare()
    app.conf.task_default_queue = "peer-bench-nobody"
    result: dict[str, Any] = {"emails": count}
    for n in range(20):  # warm up
        send_transactional(organisation=organisation, to=f"warm{n}@example.com", template_id="note", variables={"n": n})
    wall, cpu = time.perf_counter(), self_cpu()
    for n in range(count):
        send_transactional(organisation=organisation, to=f"svc{n}@example.com", template_id="note", variables={"n": n})
    wall, cpu = time.perf_counter() - wall, self_cpu() - cpu
    result["service_ms_per_email"] = round(wall * 1000 / count, 2)
    result["service_cpu_ms_per_email"] = round(cpu * 1000 / count, 2)
    result["load_average_service"] = load_average()

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(address: str, n: int) -> None:
        body = {"to": address, "templateId": "note", "variables": {"n": n}}
        response = client.post("/api/send", data=body, content_type="application/json")
        if response.status_code >= 300:
            raise RuntimeError(f"POST /api/send answered {response.status_code}: {response.content[:300]!r}")

    for n in range(20):
        post(f"warmapi{n}@example.com", n)
    wall, cpu = time.perf_counter(), self_cpu()
    for n in range(count):
        post(f"api{n}@example.com", n)
    wall, cpu = time.perf_counter() - wall, self_cpu() - cpu
    result["api_ms_per_email"] = round(wall * 1000 / count, 2)
    result["api_cpu_ms_per_email"] = round(cpu * 1000 / count, 2)
    result["load_average"] = load_average()
    Send.objects.filter(organisation=organisation).delete()
    flush_redis()
    return result


def ours_worker_env(ses_url: str, rate: float | None, queue: str, var_dir: str) -> dict[str, str]:
    return {
        **ENV,
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "AWS_SES_REGION_ENDPOINT_URL": ses_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "SES_MAX_SEND_RATE": str(rate or UNTHROTTLED_RATE),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DEFAULT_FROM_EMAIL": "bench@example.com",
        "DOMAIN_IDENTITY_SERVICE": "local",
        "VAR_DIR": var_dir,
    }


def start_worker(n: int, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    """As bench/delivery_rate.py: one Celery worker process, threads pool of 8."""
    output = (log_dir / f"worker{n}-{time.monotonic_ns()}.log").open("wb")
    command = [
        PYTHON, "-m", "celery", "-A", "kraiter", "worker", "--pool", "threads", "--concurrency", "8",
        "--loglevel", "WARNING", "-n", f"peerbench{n}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ours_deliver(count: int, rate: float | None, *, kill: bool, timeout: float) -> dict[str, Any]:
    """bench/delivery_rate.py's setting: 4 Celery worker processes (threads pool, 8 each), the
    backlog enqueued once they have started. With `kill`, beat runs too (the sweeper), and two
    workers are SIGKILLed at KILL_AT of the backlog and started again RESTART_AFTER later."""
    from delivery_rate import queue_backlog

    from kraiter.celery import app
    from sends.models import Send
    from sends.services import send_enqueue_delivery

    flush_redis()
    ids = queue_backlog(count)
    organisation_id = Send.objects.get(pk=ids[0]).organisation_id
    log_dir = Path(tempfile.mkdtemp(prefix="peer-bench-ours-"))
    run = Run("ours", rate, kill, ids)
    with standin_ses(rate) as ses:
        queue = f"peer-bench-{uuid.uuid4().hex[:6]}"
        env = ours_worker_env(ses.url, rate, queue, str(log_dir))
        workers = [start_worker(n, env, log_dir) for n in range(4)]
        beat = None
        if kill:
            command = [PYTHON, "-m", "celery", "-A", "kraiter", "beat", "--loglevel", "WARNING",
                       "-s", str(log_dir / "beat-schedule")]  # fmt: skip
            beat = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(10)  # start-up (bench/delivery_rate.py waits 8 s), not counted
        baseline = {w.pid: cpu_seconds(w.pid) for w in workers}
        app.conf.task_default_queue = queue
        run.started = time.monotonic()
        send_enqueue_delivery(ids)
        wanted, restarted, deadline = set(ids), False, run.started + timeout
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            accepted = distinct_accepted(ses, wanted)
            if kill and run.killed_at is None and accepted >= KILL_AT * count:
                for victim in workers[:2]:
                    os.kill(victim.pid, signal.SIGKILL)
                    run.kills.append(victim.pid)
                run.killed_at = now
                log(f"ours: SIGKILL {run.kills} at {accepted} delivered")
            if kill and run.killed_at is not None and not restarted and now - run.killed_at >= RESTART_AFTER:
                for n in range(2):
                    workers[n].wait()
                    workers[n] = start_worker(n, env, log_dir)
                restarted = True
            if accepted >= count:
                break
            if not Send.objects.filter(organisation_id=organisation_id, status=Send.Status.QUEUED).exists():
                break
            if now > deadline:
                run.timed_out = True
                break
        if not kill:
            run.cpu_s = sum(cpu_seconds(w.pid) - baseline[w.pid] for w in workers)
        for worker in workers:
            stop(worker)
        if beat is not None:
            stop(beat)
        statuses = dict(Send.objects.filter(pk__in=ids).values_list("id", "status"))
        final = {i: "pending" if s == Send.Status.QUEUED else "final" for i, s in statuses.items()}
        return summarise(run, ses, final)


# --- the peer ---------------------------------------------------------------------------------------


def peer_startup_cpu() -> float:
    """CPU of one `send_queued_mail --processes 4` with nothing queued: Python and Django starting,
    one query. Subtracted once per invocation, as ours is measured after its workers started."""
    peer_job("reset")
    samples = []
    lock = tempfile.mkdtemp(prefix="peer-bench-lock-")
    for _ in range(3):
        before = children_cpu()
        subprocess.run(
            [str(PEER_PYTHON), str(PEER_JOB), "send_queued_mail", "--processes", "4", "--lockfile", f"{lock}/po"],
            env=peer_env(),
            check=True,
            capture_output=True,
            timeout=120,
        )
        samples.append(children_cpu() - before)
    return sorted(samples)[1]


def peer_deliver(
    count: int, rate: float | None, batch_size: int | None, *, kill: bool, timeout: float, startup_cpu: float
) -> dict[str, Any]:
    """`send_queued_mail --processes 4` as post_office's README deploys it: from cron every minute
    (its lock file skips a minute while one runs); the first starts at once. With `kill`, two of
    its pool processes are SIGKILLed at KILL_AT of the backlog (multiprocessing starts others)."""
    tag = f"po{uuid.uuid4().hex[:6]}"
    peer_job("backlog", str(count), tag)
    ids = [f"{tag}-{n}" for n in range(count)]
    name = "peer" if batch_size is None else f"peer, BATCH_SIZE {batch_size}"
    run = Run(name, rate, kill, ids)
    lock_dir = Path(tempfile.mkdtemp(prefix="peer-bench-po-"))
    with standin_ses(rate) as ses:
        env = peer_env(PEER_SES_URL=ses.url, **({"PEER_BATCH_SIZE": str(batch_size)} if batch_size else {}))
        command = [str(PEER_PYTHON), str(PEER_JOB), "send_queued_mail", "--processes", "4",
                   "--lockfile", str(lock_dir / "post_office")]  # fmt: skip
        before = children_cpu()
        current: subprocess.Popen[bytes] | None = None
        wanted, next_cron, deadline = set(ids), 0.0, 0.0

        def start() -> subprocess.Popen[bytes]:
            run.invocations += 1
            output = (lock_dir / f"send_queued_mail-{run.invocations}.log").open("wb")
            return subprocess.Popen(command, env=env, stdout=output, stderr=output)

        run.started = time.monotonic()
        deadline = run.started + timeout
        current, next_cron = start(), run.started + CRON_EVERY
        while True:
            kill_due = kill and run.killed_at is None and distinct_accepted(ses, wanted) >= KILL_AT * count
            time.sleep(0.02 if kill_due else 0.5)
            now = time.monotonic()
            accepted = distinct_accepted(ses, wanted)
            if kill_due and current.poll() is None:
                # two pool processes in the middle of their share: connected to SES (a process
                # that has finished its share closed its connections and holds nothing to lose)
                pool = [int(p) for p in subprocess.run(["pgrep", "-P", str(current.pid)], capture_output=True,
                                                       text=True).stdout.split()]  # fmt: skip
                pool = connected_to(ses.port, pool)
                if len(pool) >= 2:
                    for pid in pool[:2]:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                            run.kills.append(pid)
                    run.killed_at = now
                    log(f"{name}: SIGKILL pool processes {run.kills} at {accepted} delivered")
            if accepted >= count and current.poll() is not None:
                break
            if now >= next_cron:
                next_cron += CRON_EVERY
                if current.poll() is not None:
                    if current.returncode:
                        run.notes.append(f"send_queued_mail #{run.invocations} exited {current.returncode}")
                    if any(s in (PEER_QUEUED, PEER_REQUEUED) for i, s in peer_rows() if i in wanted):
                        current = start()
            if current.poll() is not None and not any(
                s in (PEER_QUEUED, PEER_REQUEUED) for i, s in peer_rows() if i in wanted
            ):
                break  # nothing left that the next cron run would send
            if now > deadline:
                run.timed_out = True
                break
        stop(current)
        if current.returncode:
            run.notes.append(f"send_queued_mail #{run.invocations} exited {current.returncode}")
        run.cpu_s = children_cpu() - before - run.invocations * startup_cpu
        statuses = {i: s for i, s in peer_rows() if i in wanted}
        final = {i: "pending" if s in (PEER_QUEUED, PEER_REQUEUED) else "final" for i, s in statuses.items()}
        if kill:
            run.cpu_s = None  # killed processes' CPU is not all accounted for
        return summarise(run, ses, final)


# --- the table --------------------------------------------------------------------------------------


def ratio(a: Any, b: Any) -> str:
    return f"{a / b:.2f}" if isinstance(a, int | float) and isinstance(b, int | float) and b else "—"


def table(results: dict[str, Any]) -> str:
    q = results["enqueue_ours"]
    p = results["enqueue_peer"]
    lines = [
        "| measure | ours | peer, defaults | ours / peer | peer, `BATCH_SIZE` 1000 | ours / tuned peer | load average (ours; peer; tuned) |",  # noqa: E501
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(label: str, key: str, unit: str = "") -> None:
        ours, peer, tuned = (results.get(f"{step}_{suffix}") for step in ("ours", "peer", "tuned") for suffix in [key])
        values = [r.get(metric) if r else None for r, metric in ((ours, unit), (peer, unit), (tuned, unit))]
        loads = "; ".join(r["load_average"].split()[0] if r else "—" for r in (ours, peer, tuned))
        shown = [("—" if v is None else str(v)) for v in values]
        lines.append(
            f"| {label} | {shown[0]} | {shown[1]} | {ratio(values[0], values[1])} | {shown[2]} | "
            f"{ratio(values[0], values[2])} | {loads} |"
        )

    row("delivered per second, SES limit R = 200/s", "r200", "delivered_per_s")
    row("delivered per second, no SES limit", "free", "delivered_per_s")
    row("CPU ms per delivered email (delivery processes), R = 200/s", "r200", "cpu_ms_per_delivered")
    row("CPU ms per delivered email (delivery processes), no limit", "free", "cpu_ms_per_delivered")
    for label, key in (("R = 200/s", "r200"), ("no limit", "free")):
        cells = []
        for step in ("ours", "peer", "tuned"):
            r = results.get(f"{step}_{key}")
            cells.append(f"{r['throttled_by_ses']} / {r['lost']} / {r['duplicates']}" if r else "—")
        lines.append(f"| throttled by SES / lost / duplicates, {label} | {cells[0]} | {cells[1]} | | {cells[2]} | | |")
    lines.append(
        f"| queueing one email in-process, ms (ours: the send service; peer: `mail.send`) "
        f"| {q['service_ms_per_email']} | {p['ms_per_email']} | {ratio(q['service_ms_per_email'], p['ms_per_email'])} "
        f"| — | — | {q['load_average_service'].split()[0]}; {p['load_average'].split()[0]} |"
    )
    lines.append(
        f"| ... CPU ms of the queueing process per email | {q['service_cpu_ms_per_email']} | {p['cpu_ms_per_email']} "
        f"| {ratio(q['service_cpu_ms_per_email'], p['cpu_ms_per_email'])} | — | — | |"
    )
    lines.append(
        f"| queueing one email through `POST /api/send` (test client), ms; CPU ms | {q['api_ms_per_email']}; "
        f"{q['api_cpu_ms_per_email']} | {p['ms_per_email']}; {p['cpu_ms_per_email']} (`mail.send`) "
        f"| {ratio(q['api_ms_per_email'], p['ms_per_email'])} | — | — | {q['load_average'].split()[0]} |"
    )
    kills = [results.get(k) for k in ("ours_kill", "peer_kill", "tuned_kill")]
    times = [k.get("start_to_last_s") if k else None for k in kills]
    shown = ["—" if t is None else str(t) for t in times]
    loads = "; ".join(k["load_average"].split()[0] if k else "—" for k in kills)
    lines.append(
        f"| two delivery processes killed: whole backlog delivered after, s (no SES limit) | {shown[0]} | {shown[1]} "
        f"| {ratio(times[0], times[1])} | {shown[2]} | {ratio(times[0], times[2])} "
        f"| {loads} |"
    )

    def lost_and_duplicated(k: dict[str, Any] | None) -> str:
        if not k:
            return "—"
        pending = f", {k['pending_at_end']} pending" if k["pending_at_end"] else ""
        return f"{k['lost']} / {k['duplicates']} ({k.get('duplicates_unmarked', '?')} unmarked{pending})"

    cells = [lost_and_duplicated(k) for k in kills]
    lines.append(f"| lost / duplicated under those kills | {cells[0]} | {cells[1]} | | {cells[2]} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0, help="the SES limit of the throttled runs")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per delivery run (kills: 3x)")
    parser.add_argument("--quick", action="store_true", help="skip the kill runs")
    parser.add_argument("--no-tuned-kill", action="store_true", help="kill runs for ours and the default peer only")
    parser.add_argument("--only", default="", help="comma-separated step names to run (default: all)")
    args = parser.parse_args()
    n, only = args.messages, set(filter(None, args.only.split(",")))

    ensure_peer_venv()
    ENV["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    ENV["VAR_DIR"] = tempfile.mkdtemp(prefix="peer-bench-var-")
    ENV["DEFAULT_FROM_EMAIL"] = "bench@example.com"  # the operator's sender, as the workers see it
    setup_django()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    peer_version = subprocess.run(
        [str(PEER_PYTHON), "-m", "pip", "list", "--format", "freeze"], capture_output=True, text=True
    ).stdout
    versions = [v for v in peer_version.split() if v.lower().startswith(("django", "boto3"))]
    header = {"started": started, "machine": machine(), "peer": versions, "load_average": load_average()}
    print(json.dumps(header), flush=True)
    peer_job("reset")
    startup = peer_startup_cpu()
    log(f"peer start-up CPU per invocation: {startup * 1000:.0f} ms")

    rate, kill_timeout = args.rate, args.timeout * 3
    steps: list[tuple[str, Any]] = [
        ("enqueue_ours", lambda: ours_enqueue(n)),
        ("enqueue_peer", lambda: peer_job("enqueue", str(n))),
        ("ours_r200", lambda: ours_deliver(n, rate, kill=False, timeout=args.timeout)),
        ("peer_r200", lambda: peer_deliver(n, rate, None, kill=False, timeout=args.timeout, startup_cpu=startup)),
        ("tuned_r200", lambda: peer_deliver(n, rate, 1000, kill=False, timeout=args.timeout, startup_cpu=startup)),
        ("ours_free", lambda: ours_deliver(n, None, kill=False, timeout=args.timeout)),
        ("peer_free", lambda: peer_deliver(n, None, None, kill=False, timeout=args.timeout, startup_cpu=startup)),
        ("tuned_free", lambda: peer_deliver(n, None, 1000, kill=False, timeout=args.timeout, startup_cpu=startup)),
    ]
    if not args.quick:
        steps += [
            ("ours_kill", lambda: ours_deliver(n, None, kill=True, timeout=kill_timeout)),
            ("peer_kill", lambda: peer_deliver(n, None, None, kill=True, timeout=kill_timeout, startup_cpu=startup)),
        ]
        if not args.no_tuned_kill:
            steps.append(
                (
                    "tuned_kill",
                    lambda: peer_deliver(n, None, 1000, kill=True, timeout=kill_timeout, startup_cpu=startup),
                )
            )
    results: dict[str, Any] = {}
    for name, step in steps:
        if only and name not in only:
            continue
        log(f"{name} (load average {load_average()})")
        results[name] = {"step": name, **step()}
        results[name].setdefault("load_average", load_average())
        print(json.dumps(results[name]), flush=True)
    if {"enqueue_ours", "enqueue_peer"} <= set(results):
        print(f"\n{started}, {header['machine']}\n")
        print(table(results))


if __name__ == "__main__":
    main()

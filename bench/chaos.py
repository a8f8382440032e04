"""The crash sweep (issue 11): real processes killed at random under load; is any email lost,
sent twice without a mark, or left stuck?

    BENCH_DATABASE=kraiter_chaos BENCH_REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/chaos.py --sends 2000 --enrolments 2000 --rate 20

On PostgreSQL and Redis (the benchmark database and Redis db of bench/common.py; the Redis db is
flushed), this runs:
- gunicorn (`kraiter.wsgi`, gthread, 2 workers x 4 threads), two Celery workers (prefork, 2 pool
  processes each) and beat, all delivering through django-ses to a stand-in SES over HTTP in this
  process (tests.standin_ses) that logs every message it accepts and loses 5 % of its answers;
- client threads that POST /api/send (with an Idempotency-Key) and POST /api/sequences/:id/enrol
  (a one-email sequence, due at once), paced at --rate requests/s. A connection error or a 5xx is
  an unknown outcome: the same request is sent again (same key; an enrolment answered 409 after
  a retry was committed by an earlier try);
- meanwhile, every few seconds, one of: `kill -9` of a Celery pool process (at random, or the one
  whose SES call is in progress, after SES accepted the message and before it answers), of a
  gunicorn worker (its master starts another), or of a whole Celery worker (main process and its
  pool; restarted by this script after 3 s, as a supervisor would); and once, FLUSHDB of the
  broker (every queued task lost: the sweeper must find the sends again).

Then it waits until nothing is queued or due and prints one JSON object:
- lost: accepted sends that never reached SES and were not rejected, plus enrolments whose email
  never reached SES;
- delivered_twice: send ids SES accepted more than once, by cause; unmarked: a second copy without
  the X-Kraiter-Resend-Of mark; unexplained: such a copy and nothing in the send's
  uncertain_attempts for it;
- stuck_enrolments: active, nothing scheduled and no send for the step;
- next_attempt_after_kill_s: for each kill of a process holding a send (claimed, attempt
  unrecorded, at the kill), the time from the kill to the next attempt's claim (p50 / max; the
  next attempt finds the killed one unrecorded and lists it in uncertain_attempts, with its time);
- first_attempt_after_whole_worker_kill_or_flush_s: for the sends not yet attempted when a whole
  worker died or the broker was flushed (their tasks may have gone with it), the time from that
  moment to SES's first copy;
- delivery_latency_s: from the send's creation to SES's first copy, for every send;
- counts of kills, uncertain attempts, resends, answers lost, and the load average.
Targets: 0 lost, 0 stuck, 0 unexplained duplicates, duplicates only from a kill inside the SES
call or a lost answer, next attempt <= 45 s after a kill.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from common import ENV, PYTHON, REDIS_URL, ROOT, Gunicorn, flush_redis, machine, setup_django

LOST_ANSWER_RATE = 0.05
WORKER_RESTART_DELAY = 3.0  # seconds between a whole Celery worker's death and its restart
NEXT_ATTEMPT_TARGET = 45.0
MAX_TRIES = 20  # per request, about a minute of retries
T0_WALL = time.time() - time.monotonic()  # wall clock = monotonic + this (the stand-in logs monotonic)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the products' processes ----------------------------------------------------------------------


class CeleryWorker:
    """One `celery worker` (prefork) in a session of its own, so that the whole worker (main
    process and pool) can be killed at once."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.env, self.log_dir = name, env, log_dir
        self.starts = 0
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        output = (self.log_dir / f"{self.name}-{self.starts}.log").open("wb")
        command = [
            PYTHON, "-m", "celery", "-A", "kraiter", "worker", "--pool", "prefork", "--concurrency", "2",
            "--loglevel", "WARNING", "-n", f"{self.name}@%h", "--without-mingle", "--without-gossip",
            "--without-heartbeat",
        ]  # fmt: skip
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=output, stderr=output, start_new_session=True)

    def restart(self) -> None:
        self.process = self._start()

    def children(self) -> list[int]:
        return children_of(self.process.pid)

    def kill_whole(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the pool too, whatever state it is in
        self.process.wait()


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


def kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def socket_owner(local_port: int, peer_port: int, candidates: list[int]) -> int | None:
    """The pid among `candidates` holding the loopback TCP socket local_port -> peer_port."""
    wanted_local, wanted_peer = f"0100007F:{local_port:04X}", f"0100007F:{peer_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted_local and fields[2] == wanted_peer:
            inode = fields[9]
            break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in candidates:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


# --- what happened, as the script saw it ---------------------------------------------------------


@dataclass
class Kill:
    kind: str  # celery_pool_process | celery_in_ses_call | celery_whole_worker | gunicorn_worker
    at: float  # wall clock
    pid: int
    # (send id, attempt) claimed and unrecorded right before or right after the kill: the killed
    # process's claims are among them (the others' attempts are recorded moments later)
    in_flight: set[tuple[str, int]]


@dataclass
class Requests:
    """What the clients asked for and what they were told."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    send_ids: dict[int, str] = field(default_factory=dict)  # request number -> send id answered
    enrolled: dict[int, str] = field(default_factory=dict)  # request number -> enrolment id, or "409"
    given_up: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a definite answer that is not success
    http_attempts: int = 0
    unknown_outcomes: int = 0  # connection errors and 5xx
    server_errors: int = 0
    replayed: int = 0
    retried_requests: int = 0

    def count(self, **increments: int) -> None:
        with self.lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)


def in_flight_claims(organisation_id: int) -> set[tuple[str, int]]:
    """(send id, attempt) of the attempts some process has claimed and not yet recorded."""
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from sends.models import Send

    try:
        rows = Send.objects.filter(
            organisation_id=organisation_id,
            status=Send.Status.QUEUED,
            lease_expires_at__gt=timezone.now(),
            claimed_by__isnull=False,
            recorded_attempt__lt=F("attempts"),
        ).values_list("id", "attempts")
        return set(rows)
    finally:
        connection.close()


# --- the stand-in SES, with a kill inside the SES call ---------------------------------------------


def standin_ses(port: int) -> Any:
    """tests.standin_ses.StandinSes, whose handler also notes which client connection it serves,
    so that `arm_kill` can find the pool process waiting for this answer and kill it."""
    from tests.standin_ses import Accepted, StandinSes, _Handler

    peer = threading.local()

    class PeerHandler(_Handler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            peer.port = self.client_address[1]
            super().do_POST()

    class ChaosSes(StandinSes):
        def __init__(self) -> None:
            super().__init__(lose_answers=LOST_ANSWER_RATE, before_answer=self._maybe_kill, port=port)
            self.RequestHandlerClass = PeerHandler
            self._armed: Callable[[Accepted, int], bool] | None = None
            self._armed_lock = threading.Lock()

        def arm_kill(self, killer: Callable[[Accepted, int], bool]) -> None:
            """The next message accepted (whose answer is not lost anyway) is held while
            `killer(message, client_port)` runs; it returns whether it killed its sender."""
            with self._armed_lock:
                self._armed = killer

        def _maybe_kill(self, message: Accepted) -> None:
            if self._armed is None or not message.answered:
                return
            with self._armed_lock:
                killer, self._armed = self._armed, None
            if killer is not None and not killer(message, peer.port):
                self.arm_kill(killer)  # not one of our pool processes: try the next message

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # answers written to a killed client, and the closes of lost answers

    return ChaosSes()


# --- the sweep ---------------------------------------------------------------------------------------


def prepare() -> tuple[int, str]:
    """A fresh organisation with an API key, templates and an active sequence whose first email
    is due at once (the second a month later: the enrolments stay active, a retried enrol is 409)."""
    from kraiter.models import Organisation
    from kraiter.services import api_key_create, organisation_create
    from scheduling.services import sequence_activate, sequence_upsert
    from templates_app.services import TemplateInput, template_upsert

    for old in Organisation.objects.filter(name__startswith="Chaos "):
        old.delete()
    organisation = organisation_create(name=f"Chaos {time.strftime('%Y-%m-%d %H:%M:%S')}")
    for slug in ("note", "welcome", "tips"):
        template_upsert(
            organisation=organisation,
            slug=slug,
            data=TemplateInput(
                name=slug.title(),
                subject=f"{slug} {{{{ n }}}}",
                mjml=None,
                html=f"<p>{slug} {{{{ n }}}}</p>",
                text=None,
                variables=[],
            ),
        )
    sequence, _ = sequence_upsert(
        organisation=organisation,
        slug="onboarding",
        name="Onboarding",
        definition="steps: [{send: welcome}, {delay: 30d}, {send: tips}]",
    )
    sequence_activate(sequence=sequence)
    return organisation.pk, api_key_create(organisation=organisation, name="chaos").raw_key


class Client:
    """One keep-alive connection to gunicorn; any failure to get an answer is None (unknown)."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int | None, Any, bool]:
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.connection.request(
                "POST",
                path,
                body=json.dumps(body),
                headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json", **headers},
            )
            response = self.connection.getresponse()
            data = response.read()
            replayed = response.getheader("Idempotent-Replayed") == "true"
            return response.status, json.loads(data) if data else {}, replayed
        except (OSError, http.client.HTTPException, ValueError):
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            return None, None, False


class Jobs:
    """The requests to make, in a shuffled order, each taken by one client thread."""

    def __init__(self, jobs: list[tuple[str, int]]) -> None:
        self.jobs, self.taken, self.lock = jobs, 0, threading.Lock()

    def take(self) -> tuple[int, str, int] | None:
        with self.lock:
            if self.taken == len(self.jobs):
                return None
            index, self.taken = self.taken, self.taken + 1
        kind, n = self.jobs[index]
        return index, kind, n


def run_client(jobs: Jobs, rate: float, started: float, client: Client, got: Requests) -> None:
    """Makes requests until none is left; request i starts at `started + i / rate` at the earliest.
    An unknown outcome (no answer, 5xx) is retried with the same body and Idempotency-Key."""
    while (job := jobs.take()) is not None:
        index, kind, n = job
        time.sleep(max(0.0, started + index / rate - time.monotonic()))
        if kind == "send":
            path = "/api/send"
            body: dict[str, Any] = {"to": f"send{n}@chaos.example.com", "templateId": "note", "variables": {"n": n}}
            headers = {"Idempotency-Key": f"chaos-send-{n}"}
        else:
            path, body, headers = "/api/sequences/onboarding/enrol", {"email": f"enrol{n}@chaos.example.com"}, {}
        pause = 0.2
        for attempt in range(1, MAX_TRIES + 1):
            status, answer, replayed = client.post(path, body, headers)
            got.count(http_attempts=1, replayed=int(replayed), retried_requests=int(attempt == 2))
            busy_key = kind == "send" and status == 409 and "right now" in json.dumps(answer)
            if status is None or status >= 500 or busy_key:
                got.count(unknown_outcomes=int(not busy_key), server_errors=int(status is not None and status >= 500))
                time.sleep(pause)
                pause = min(pause * 2, 3.0)
                continue
            with got.lock:
                if status == 201:
                    (got.send_ids if kind == "send" else got.enrolled)[n] = answer["id"]
                elif kind == "enrol" and status == 409 and attempt > 1:
                    got.enrolled[n] = "409"  # "already active": an earlier try committed it
                else:
                    got.refused.append(f"{kind} {n}: {status} {answer}")
            break
        else:
            with got.lock:
                got.given_up.append(f"{kind} {n}")


class Chaos:
    """The kills, on a schedule over the load phase."""

    def __init__(
        self,
        *,
        organisation_id: int,
        workers: list[CeleryWorker],
        gunicorn: Gunicorn,
        ses: Any,
        seconds: float,
        seed: int,
    ) -> None:
        self.organisation_id, self.workers, self.gunicorn, self.ses = organisation_id, workers, gunicorn, ses
        self.seconds = seconds
        self.random = random.Random(seed)
        self.kills: list[Kill] = []
        self.flushed_at: float | None = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.load_max = 0.0

    def run(self, load_done: threading.Event) -> None:
        started = time.monotonic()
        # Two whole-worker kills and the broker flush at fixed points; the rest at random.
        milestones = [(0.25, self.kill_whole_worker), (0.45, self.flush_broker), (0.7, self.kill_whole_worker)]
        while not self.stop.is_set() and not load_done.is_set():
            self.stop.wait(self.random.uniform(2.5, 6.0))
            self.load_max = max(self.load_max, os.getloadavg()[0])
            elapsed = (time.monotonic() - started) / self.seconds
            if milestones and elapsed >= milestones[0][0]:
                milestones.pop(0)[1]()
                continue
            action = self.random.choices(
                [self.kill_pool_process, self.kill_in_ses_call, self.kill_gunicorn_worker], weights=[3, 3, 3]
            )[0]
            action()
        for _, action in milestones:  # the load finished early: what was not done yet, now
            action()

    def record(self, kind: str, pid: int, in_flight: set[tuple[str, int]]) -> None:
        """Notes a kill made just now; `in_flight` is what was claimed just before it."""
        at = time.time()
        if kind.startswith("celery"):
            in_flight |= in_flight_claims(self.organisation_id)
        with self.lock:
            self.kills.append(Kill(kind, at, pid, in_flight))
        log(f"killed {kind} {pid} ({len(in_flight)} claim(s) in flight)")

    def alive_workers(self) -> list[CeleryWorker]:
        return [worker for worker in self.workers if worker.process.poll() is None]

    def kill_pool_process(self) -> None:
        pool = [pid for worker in self.alive_workers() for pid in worker.children()]
        if pool:
            pid = self.random.choice(pool)
            in_flight = in_flight_claims(self.organisation_id)
            if kill(pid):
                self.record("celery_pool_process", pid, in_flight)

    def kill_in_ses_call(self) -> None:
        def killer(message: Any, client_port: int) -> bool:
            pool = [pid for worker in self.alive_workers() for pid in worker.children()]
            pid = socket_owner(client_port, self.ses.port, pool)
            if pid is None:
                return False
            in_flight = in_flight_claims(self.organisation_id)
            if not kill(pid):
                return False
            self.record("celery_in_ses_call", pid, in_flight)
            return True

        self.ses.arm_kill(killer)

    def kill_gunicorn_worker(self) -> None:
        workers = children_of(self.gunicorn.process.pid)
        if workers:
            pid = self.random.choice(workers)
            if kill(pid):
                self.record("gunicorn_worker", pid, set())

    def kill_whole_worker(self) -> None:
        alive = self.alive_workers()
        if not alive:
            return
        worker = self.random.choice(alive)
        in_flight = in_flight_claims(self.organisation_id)
        worker.kill_whole()
        self.record("celery_whole_worker", worker.process.pid, in_flight)

        def restart() -> None:
            time.sleep(WORKER_RESTART_DELAY)
            worker.restart()
            log(f"restarted {worker.name} as {worker.process.pid}")

        threading.Thread(target=restart, daemon=True).start()

    def flush_broker(self) -> None:
        flush_redis()
        self.flushed_at = time.time()
        log("FLUSHDB of the broker's Redis db")


def settle(organisation_id: int, timeout: float) -> tuple[bool, float, dict[str, int]]:
    """Waits until no send is queued and no scheduled send is due; (settled, seconds, what is left)."""
    from django.db import connection
    from django.utils import timezone

    from scheduling.models import ScheduledSend
    from sends.models import Send

    started = time.monotonic()
    left: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        left = {
            "queued_sends": Send.objects.filter(organisation_id=organisation_id, status=Send.Status.QUEUED).count(),
            "due_scheduled_sends": ScheduledSend.objects.filter(
                organisation_id=organisation_id, held=False, scheduled_for__lte=timezone.now()
            ).count(),
        }
        if not any(left.values()):
            connection.close()
            return True, time.monotonic() - started, left
        time.sleep(2)
    connection.close()
    return False, time.monotonic() - started, left


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)


def parse_at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def results(
    organisation_id: int, got: Requests, chaos: Chaos, accepted: list[Any], started_wall: float
) -> dict[str, Any]:
    from scheduling.models import Enrolment, ScheduledSend
    from sends.delivery import LOST_ATTEMPT
    from sends.models import Send

    sends = {
        row["id"]: row
        for row in Send.objects.filter(organisation_id=organisation_id).values(
            "id", "status", "source", "email", "enrolment_id", "step", "created_at", "attempts", "uncertain_attempts"
        )
    }
    copies: dict[str, list[Any]] = {}
    for message in accepted:
        copies.setdefault(message.send_id, []).append(message)

    # Lost: an accepted send (or an enrolment's send) that never reached SES and was not rejected.
    lost_sends = [
        sid for sid in got.send_ids.values() if sid not in copies and sends.get(sid, {}).get("status") != "rejected"
    ]
    answered = set(got.send_ids.values())
    unanswered_sends = [s for s in sends.values() if s["source"] == "transactional" and s["id"] not in answered]
    transactional_by_email: dict[str, int] = {}
    for s in sends.values():
        if s["source"] == "transactional":
            transactional_by_email[s["email"]] = transactional_by_email.get(s["email"], 0) + 1
    enrolments: dict[str, list[dict[str, Any]]] = {}
    for e in Enrolment.objects.filter(organisation_id=organisation_id).values(
        "id", "status", "notes", "contact__email"
    ):
        enrolments.setdefault(e["contact__email"], []).append(e)
    first_email_of: dict[str, dict[str, Any]] = {
        s["enrolment_id"]: s for s in sends.values() if s["enrolment_id"] and s["step"] == 1
    }
    lost_enrolments = []
    for n in got.enrolled:
        own = [first_email_of.get(e["id"]) for e in enrolments.get(f"enrol{n}@chaos.example.com", [])]
        if not any(s is not None and (s["id"] in copies or s["status"] == "rejected") for s in own):
            lost_enrolments.append(f"enrol{n}@chaos.example.com")
    scheduled = set(
        ScheduledSend.objects.filter(organisation_id=organisation_id).values_list("enrolment_id", flat=True)
    )
    every_enrolment = [e for group in enrolments.values() for e in group]
    stuck = [e["id"] for e in every_enrolment if e["status"] == "active" and e["id"] not in scheduled]
    stuck_without_a_send = [e for e in stuck if e not in first_email_of]

    # Twice: by cause, and whether the second copy is marked or at least explained.
    causes: dict[str, int] = {}
    unmarked, unexplained = [], []
    for sid, messages in copies.items():
        if len(messages) < 2:
            continue
        entries = sends.get(sid, {}).get("uncertain_attempts", [])
        found = [
            name
            for name, present in (
                ("answer_lost", any(not m.answered for m in messages[:-1])),
                ("worker_killed", any(e["error"] == LOST_ATTEMPT for e in entries)),
                ("worker_outlived_its_lease", any(e.get("resolution") == "accepted" for e in entries)),
            )
            if present
        ]
        cause = "+".join(found) or "other"
        causes[cause] = causes.get(cause, 0) + 1
        plain = sum(1 for m in messages if m.resend_of is None)
        if plain >= 2:
            unmarked.append(sid)
            if len(entries) < plain - 1:
                unexplained.append(sid)

    # From each kill of a process holding a claim to the next attempt's claim of that send.
    claims: dict[tuple[str, int], float] = {}
    for s in sends.values():
        for entry in s["uncertain_attempts"]:
            if entry["error"] == LOST_ATTEMPT:
                claims[(s["id"], entry["attempt"])] = parse_at(entry["at"])
    delays: dict[str, list[float]] = {}  # by kind of kill
    holding: set[int] = set()  # the kills that held a claim
    for (sid, attempt), next_at in claims.items():
        killers = [k for k in chaos.kills if (sid, attempt) in k.in_flight and k.at <= next_at]
        if killers:
            # the first: a dead process's claim stays in flight (in later kills' lists) until taken over
            kill_ = min(killers, key=lambda k: k.at)
            holding.add(id(kill_))
            delays.setdefault(kill_.kind, []).append(next_at - kill_.at)
    every_delay = [d for kind in delays.values() for d in kind]
    by_kind = {
        kind: {
            "kills": sum(1 for k in chaos.kills if k.kind == kind and id(k) in holding),
            "sends": len(values),
            "p50": percentile(values, 0.5),
            "max": round(max(values), 2),
        }
        for kind, values in delays.items()
    }
    unattributed = len(claims) - len(every_delay)

    first_copy = {sid: min(m.at for m in messages) + T0_WALL for sid, messages in copies.items()}
    # Sends not yet attempted when a whole worker died or the broker was flushed: their tasks may
    # have been lost with it (reserved by the worker, or queued in Redis); how long until they went.
    after_event: dict[str, dict[str, Any]] = {}
    moments = [(k.at, k.kind) for k in chaos.kills if k.kind == "celery_whole_worker"]
    moments += [(chaos.flushed_at, "broker_flush")] if chaos.flushed_at else []
    for at, kind in moments:
        waits = [
            first_copy[sid] - at
            for sid, s in sends.items()
            if s["created_at"].timestamp() < at and first_copy.get(sid, 0) > at
        ]
        summary = after_event.setdefault(kind, {"events": 0, "pending": 0, "max": 0.0, "over_45s": 0})
        summary["events"] += 1
        summary["pending"] += len(waits)
        summary["max"] = round(max([summary["max"], *waits]), 2)
        summary["over_45s"] += sum(1 for w in waits if w > NEXT_ATTEMPT_TARGET)
    latency = {sid: first_copy[sid] - s["created_at"].timestamp() for sid, s in sends.items() if sid in first_copy}
    slowest = sorted(latency.items(), key=lambda item: -item[1])[:5]
    events = [(k.at, k.kind) for k in chaos.kills] + ([(chaos.flushed_at, "broker_flush")] if chaos.flushed_at else [])

    def before(at: float) -> str:
        earlier = [(t, kind) for t, kind in events if t <= at]
        if not earlier:
            return "none"
        t, kind = max(earlier)
        return f"{kind} {at - t:.1f} s before"

    kinds: dict[str, int] = {}
    for kill_ in chaos.kills:
        kinds[kill_.kind] = kinds.get(kill_.kind, 0) + 1
    entries = [e for s in sends.values() for e in s["uncertain_attempts"]]
    return {
        "requests": {
            "sends": len(got.send_ids),
            "enrolments": len(got.enrolled),
            "enrolments_409_after_retry": sum(1 for v in got.enrolled.values() if v == "409"),
            "http_attempts": got.http_attempts,
            "unknown_outcomes": got.unknown_outcomes,
            "of_which_5xx": got.server_errors,
            "requests_retried": got.retried_requests,
            "idempotent_replays": got.replayed,
            "given_up": len(got.given_up),
            "refused": got.refused[:5],
        },
        "lost": len(lost_sends) + len(lost_enrolments),
        "lost_sends": lost_sends[:10],
        "lost_enrolments": lost_enrolments[:10],
        "rejected": sum(1 for s in sends.values() if s["status"] == "rejected"),
        "sends_created_without_an_answer": len(unanswered_sends),
        "addresses_with_two_transactional_sends": sum(1 for c in transactional_by_email.values() if c > 1),
        "addresses_enrolled_twice": sum(1 for group in enrolments.values() if len(group) > 1),
        "delivered_twice": sum(causes.values()),
        "delivered_twice_by_cause": causes,
        "delivered_twice_unmarked": len(unmarked),
        "delivered_twice_unmarked_unexplained": len(unexplained),
        "unmarked_examples": unmarked[:5],
        "stuck_enrolments": len(stuck),
        "stuck_without_any_send": len(stuck_without_a_send),
        "stuck_examples": stuck[:5],
        "enrolments_healed": sum(1 for e in every_enrolment if e["notes"].startswith("Healed")),
        "next_attempt_after_kill_s": {
            "kills_holding_a_claim": len(holding),
            "sends_held": len(every_delay),
            "p50": percentile(every_delay, 0.5),
            "max": round(max(every_delay), 2) if every_delay else None,
            "over_target": sum(1 for d in every_delay if d > NEXT_ATTEMPT_TARGET),
            "by_kind": by_kind,
            "lost_attempts_not_matched_to_a_kill": unattributed,
        },
        "first_attempt_after_whole_worker_kill_or_flush_s": after_event,
        "delivery_latency_s": {
            "p50": percentile(list(latency.values()), 0.5),
            "p99": percentile(list(latency.values()), 0.99),
            "max": round(slowest[0][1], 2) if slowest else None,
            "over_45s": sum(1 for v in latency.values() if v > NEXT_ATTEMPT_TARGET),
            "slowest": [
                {
                    "send": sid,
                    "s": round(seconds, 1),
                    "created_at_s": round(sends[sid]["created_at"].timestamp() - started_wall, 1),
                    "attempts": sends[sid]["attempts"],
                    "last_event_before_creation": before(sends[sid]["created_at"].timestamp()),
                }
                for sid, seconds in slowest
            ],
        },
        "kills": {**kinds, "total": len(chaos.kills)},
        "broker_flushes": int(chaos.flushed_at is not None),
        "uncertain_attempts": {
            "total": len(entries),
            "worker_stopped": sum(1 for e in entries if e["error"] == LOST_ATTEMPT),
            "accepted_after_takeover": sum(1 for e in entries if e.get("resolution") == "accepted"),
            "answer_lost": sum(1 for e in entries if e["error"] != LOST_ATTEMPT and e.get("resolution") != "accepted"),
            "resolved_not_resent": sum(1 for e in entries if e.get("resolution", "").startswith("not resent")),
        },
        "resends": sum(1 for m in accepted if m.resend_of is not None),
        "answers_lost_by_ses": sum(1 for m in accepted if not m.answered),
        "copies_accepted_by_ses": len(accepted),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--enrolments", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, both kinds together")
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--port", type=int, default=8300, help="gunicorn; the stand-in SES listens on the next port")
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    setup_django()
    flush_redis()
    organisation_id, key = prepare()
    log_dir = Path(tempfile.mkdtemp(prefix="kraiter-chaos-"))
    (log_dir / "var").mkdir()
    ses = standin_ses(args.port + 1)
    ses.__enter__()
    env = {
        **ENV,
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "AWS_SES_REGION_ENDPOINT_URL": ses.url,
        "AWS_ACCESS_KEY_ID": "chaos",
        "AWS_SECRET_ACCESS_KEY": "chaos",
        "SES_MAX_SEND_RATE": "200",
        "DEFAULT_FROM_EMAIL": "chaos@example.com",
        "VAR_DIR": str(log_dir / "var"),  # beat's schedule file
    }
    log(f"logs in {log_dir}; {machine()}")
    workers = [CeleryWorker(f"chaos{n}", env, log_dir) for n in (1, 2)]
    beat_log = (log_dir / "beat.log").open("wb")
    beat = subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "kraiter", "beat", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=beat_log, stderr=beat_log, start_new_session=True,
    )  # fmt: skip
    gunicorn = Gunicorn(port=args.port, workers=2, threads=4, env=env)
    time.sleep(5)  # the Celery workers' start-up
    requests = [("send", n) for n in range(args.sends)] + [("enrol", n) for n in range(args.enrolments)]
    random.Random(args.seed).shuffle(requests)
    jobs, got = Jobs(requests), Requests()
    seconds = len(requests) / args.rate
    chaos = Chaos(
        organisation_id=organisation_id, workers=workers, gunicorn=gunicorn, ses=ses, seconds=seconds, seed=args.seed
    )
    load_done = threading.Event()
    started, started_wall = time.monotonic(), time.time()
    log(f"{len(requests)} requests at {args.rate}/s (~{seconds:.0f} s), kills meanwhile")
    clients = [
        threading.Thread(target=run_client, args=(jobs, args.rate, started, Client(args.port, key), got))
        for _ in range(args.clients)
    ]
    chaos_thread = threading.Thread(target=chaos.run, args=(load_done,))
    try:
        for thread in clients:
            thread.start()
        chaos_thread.start()
        for thread in clients:
            thread.join()
        load_done.set()
        chaos_thread.join()
        log(f"load done in {time.monotonic() - started:.0f} s; waiting for everything to settle")
        time.sleep(WORKER_RESTART_DELAY + 5)  # any worker killed last is back
        settled, settle_seconds, left = settle(organisation_id, args.settle_timeout)
        time.sleep(3)  # a late copy from a worker that outlived its lease would arrive by now
        report = results(organisation_id, got, chaos, list(ses.accepted), started_wall)
    finally:
        chaos.stop.set()
        gunicorn.stop()
        for worker in workers:
            worker.stop()
        beat.terminate()
        beat.wait()
        ses.__exit__()
    load = os.getloadavg()
    print(
        json.dumps(
            {
                "machine": machine(),
                "requests_per_s": args.rate,
                "duration_s": round(time.monotonic() - started),
                "settled": settled,
                "settled_in_s": round(settle_seconds, 1),
                "left_unsettled": left,
                **report,
                "load_average_1_5_15": [round(value, 2) for value in load],
                "load_average_1m_max_during_load": round(chaos.load_max, 2),
                "redis": REDIS_URL,
            }
        )
    )


if __name__ == "__main__":
    main()

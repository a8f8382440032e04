"""What every benchmark needs: a PostgreSQL database and Redis of its own, Django set up on
them, and gunicorn started and stopped. Benchmarks are run by hand (see BENCHMARKS.md)."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DATABASE = os.environ.get("BENCH_DATABASE", "kraiter_bench")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": "benchmark-secret-key-not-for-production-0123456789",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "kraiter.settings",
}


def setup_django() -> None:
    """Points this process at the benchmark database (created and migrated if needed)."""
    os.environ.update(ENV)
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", f"CREATE DATABASE {DATABASE}"],
        capture_output=True,
        check=False,
    )
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=ENV, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def organisation_with_note(name: str) -> Any:
    """A new sending organisation with one small template, `note` ("Hello {{ n }}"), the one the
    delivery benchmarks send."""
    from kraiter.services import organisation_create
    from templates_app.services import TemplateInput, template_upsert

    organisation = organisation_create(name=name, sending_status="enabled")
    template_upsert(
        organisation=organisation,
        slug="note",
        data=TemplateInput(
            name="Note", subject="Hello {{ n }}", mjml=None, html="<p>Hello {{ n }}</p>", text=None, variables=[]
        ),
    )
    return organisation


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


class Gunicorn:
    def __init__(
        self,
        *,
        port: int = 8001,
        workers: int = 4,
        threads: int = 1,
        config: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        command = [
            PYTHON, "-m", "gunicorn", "kraiter.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--threads", str(threads),
            "--worker-class", os.environ.get("BENCH_WORKER_CLASS", "gthread" if threads > 1 else "sync"),
            "--log-level", "warning",
            "--keep-alive", "30",
        ]  # fmt: skip
        if config:
            command += ["--config", config]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env or ENV)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schema/", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def machine() -> str:
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split("\n")[1].split()[1]
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu} cores, {memory} GiB, {pg}, Python {sys.version.split()[0]}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (every thread), from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_program(names: tuple[str, ...] = ("postgres", "python", "redis-server", "gunicorn")) -> dict[str, float]:
    """CPU seconds used so far by every process of each program (by /proc comm)."""
    totals = dict.fromkeys(names, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        for name in names:
            if comm.startswith(name[:15]):
                totals[name] += cpu_seconds(int(entry.name))
    return totals

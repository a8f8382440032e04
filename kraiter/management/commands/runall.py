"""Starts the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def startup_banner() -> str:
    """What this run sends through and who proves domains: the two choices a newcomer must see."""
    if settings.DOMAIN_IDENTITY_SERVICE == "local":
        domains = "local stand-in (no AWS; POST /api/domains/:id/verify verifies)"
    else:
        domains = f"Amazon SES v2 ({settings.AWS_SES_REGION_NAME})"
    default = "allowed" if settings.ALLOW_DEFAULT_SENDER else "not allowed"
    return (
        f"Mail: {settings.EMAIL_BACKEND}. Sending domains: {domains} (DOMAIN_IDENTITY_SERVICE). "
        f"Default sender {settings.DEFAULT_FROM_EMAIL}: {default} (ALLOW_DEFAULT_SENDER)."
    )


class Command(BaseCommand):
    help = "Runs web + worker + beat in the foreground (what `make run` uses). Ctrl-C stops them all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.PORT, help="The web server's port (default: PORT).")
        parser.add_argument("--host", default="127.0.0.1", help="The address to listen on.")

    def handle(self, *args: Any, **options: Any) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "kraiter", "--quiet"]
        commands = {
            "web": [python, "manage.py", "runserver", f"{options['host']}:{options['port']}", "--noreload"],
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        self.stdout.write(startup_banner())
        # The worker renders the emails: its links must name the port the web server listens on.
        environment = {**os.environ, "PORT": str(options["port"])}
        processes = {name: subprocess.Popen(command, env=environment) for name, command in commands.items()}
        self._announce(options["host"], options["port"], processes)
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with status {process.returncode}; stopping the others.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + 10
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()

    def _announce(self, host: str, port: int, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        """Once the web server answers, the demo's box (demo_setup) goes last, where it stays in view."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and all(p.poll() is None for p in processes.values()):
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1.5)  # the worker's and beat's start-up lines come a moment after the web server's
        box = Path(settings.VAR_DIR) / "demo-box.txt"
        self.stdout.write(f"Started {', '.join(processes)}. Ctrl-C stops them.")
        if box.is_file():
            self.stdout.write(box.read_text())

"""The README's commands, exactly as it writes them, on the embedded defaults: SQLite in a fresh
var/, no DEBUG, no SECRET_KEY, no Redis. Each runs as its own process, as a newcomer's would."""

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings

PYTHON = str(Path(sys.executable))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a fresh clone: nothing set but a var/ of its own, already migrated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "KRAITER_", "PYTEST"))}
    for name in ("DEBUG", "SECRET_KEY", "PUBLIC_BASE_URL", "PORT", "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL"):
        env.pop(name, None)
    env["VAR_DIR"] = str(tmp_path_factory.mktemp("var"))
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_commands_need_no_debug_and_keep_one_secret(embedded):
    """A newcomer runs `.venv/bin/python manage.py ...` without exporting anything."""
    first = manage(embedded, "demo_setup").stdout
    secret = (Path(embedded["VAR_DIR"]) / "secret-key").read_text()
    assert len(secret) > 40 and oct((Path(embedded["VAR_DIR"]) / "secret-key").stat().st_mode)[-3:] == "600"
    assert "http://127.0.0.1:8000/admin/" in first
    manage(embedded, "createorganisation", "Acme")
    assert (Path(embedded["VAR_DIR"]) / "secret-key").read_text() == secret  # made once


def test_port_reaches_every_printed_url(embedded):
    out = manage({**embedded, "PORT": "8102"}, "demo_setup").stdout
    assert "http://127.0.0.1:8102/api/docs/" in out and "http://127.0.0.1:8102/api/send" in out
    assert ":8000" not in out


def test_backfill_metrics_runs_under_debug_on_sqlite(embedded):
    """Django's debug SQL log formats every statement with its parameters: a literal % broke it."""
    manage({**embedded, "DEBUG": "1"}, "seed_demo", "--organisation", "Demo", "--contacts", "5", "--days", "3")
    start, end = (date.today() + timedelta(days=days) for days in (-4, 1))
    result = manage({**embedded, "DEBUG": "1"}, "backfill_metrics", "--from", str(start), "--to", str(end))
    assert "Counted" in result.stdout


def test_a_bare_word_for_a_date_says_dates_work(embedded):
    result = manage(embedded, "backfill_metrics", "--from", "yesterday", "--to", "2030-01-01", check=False)
    assert result.returncode != 0 and "a date (2025-09-01" in result.stderr and "Traceback" not in result.stderr


def test_production_without_a_secret_says_how_to_make_one(embedded):
    env = {**embedded, "DATABASE_URL": f"sqlite:///{embedded['VAR_DIR']}/other.sqlite3"}
    result = manage(env, "check", check=False)
    assert result.returncode != 0 and "export SECRET_KEY=" in result.stderr

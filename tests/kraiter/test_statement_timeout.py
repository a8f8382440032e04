"""DATABASE_STATEMENT_TIMEOUT_MS (README): the web tier's statements have a time limit, other
processes none unless set. Each case is a fresh Python process, as gunicorn's or a worker's is."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

SHOW = "from django.db import connection\nwith connection.cursor() as c:\n    c.execute('SHOW statement_timeout')\n    print(c.fetchone()[0])"


def statement_timeout(prelude: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("KRAITER_WEB", "DATABASE_STATEMENT_TIMEOUT_MS")}
    environment.update(env, DATABASE_URL=_url_of_test_database(), SECRET_KEY="statement-timeout-test-key")
    done = subprocess.run(
        [sys.executable, "-c", f"{prelude}\n{SHOW}"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _url_of_test_database() -> str:
    database = settings.DATABASES["default"]
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


WEB = "import kraiter.wsgi"  # what gunicorn imports
OTHER = "import django; django.setup()"  # what manage.py, celery and beat do


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("prelude", "env", "expected"),
    [
        (WEB, {}, "5s"),
        (OTHER, {}, "0"),
        (OTHER, {"DATABASE_STATEMENT_TIMEOUT_MS": "60000"}, "1min"),
    ],
)
def test_the_web_tier_has_a_statement_timeout_and_other_processes_do_not(prelude, env, expected):
    assert statement_timeout(prelude, **env) == expected


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_past_the_timeout_is_cancelled():
    cancelled = statement_timeout(
        "import os\nos.environ['DATABASE_STATEMENT_TIMEOUT_MS'] = '100'\n" + WEB
        + "\nfrom django.db import OperationalError, connection\ntry:\n    connection.cursor().execute('SELECT pg_sleep(2)')\n"
        "except OperationalError as exc:\n    print('cancelled:', 'statement timeout' in str(exc))"
        "\nconnection.close()",
    )  # fmt: skip
    assert cancelled.splitlines()[0] == "cancelled: True"

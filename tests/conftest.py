"""Fixtures shared by every test: two organisations with API clients, and the real services.

In CI (`.ci/run`) DATABASE_URL and REDIS_URL point at PostgreSQL and Redis and nothing may be
skipped (KRAITER_FAIL_ON_SKIP=1 turns any skip into a failure). On a laptop without them the
PostgreSQL- and Redis-only tests are skipped, with the reason.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from kraiter.celery import app as celery_app
from kraiter.models import Organisation
from kraiter.services import api_key_create
from tests.factories import OrganisationFactory


def pytest_configure(config: pytest.Config) -> None:
    # Tasks run inline unless a test starts a real worker; the broker is never needed for that.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import shutil

    on_postgres = settings.IS_POSTGRES
    has_redis = bool(settings.REDIS_URL)
    has_browser = bool(shutil.which("chromium") and shutil.which("chromedriver"))
    for item in items:
        if "browser" in item.keywords and not has_browser:
            item.add_marker(
                pytest.mark.skip(reason="needs chromium and chromedriver (make test installs them as root)")
            )
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "redis" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("KRAITER_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(f"KRAITER_FAIL_ON_SKIP: {skipped} test(s) were skipped; CI allows none.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


class ApiClient(APIClient):
    """An API client bound to one organisation's key; JSON in and out."""

    organisation: Organisation
    raw_key: str


def _client_for(organisation: Organisation) -> ApiClient:
    client = ApiClient()
    client.organisation = organisation
    client.raw_key = api_key_create(organisation=organisation, name="tests").raw_key
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.raw_key}")
    client.default_format = "json"
    return client


@pytest.fixture(scope="session")
def _test_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(autouse=True)
def _var_dir_of_its_own(settings: Any, _test_var_dir: Any) -> None:
    """What commands keep in var/ (demo_setup's key and password) goes to a folder of the test
    run's, never into the var/ of the developer's own `make run`."""
    settings.VAR_DIR = _test_var_dir


@pytest.fixture(autouse=True)
def _fast_ses_rate(settings: Any) -> Iterator[None]:
    """Most delivery tests are not about the rate limit: lift it. tests/sends/test_ratelimit.py
    sets a real rate and checks that deliveries across threads and processes keep to it."""
    from sends.delivery import forget_email_backend
    from sends.ratelimit import ses_rate_limiter_reset

    settings.SES_MAX_SEND_RATE = 100_000
    ses_rate_limiter_reset()
    forget_email_backend()  # each test's SES (moto) and EMAIL_BACKEND are its own
    yield
    ses_rate_limiter_reset()
    forget_email_backend()


@pytest.fixture
def organisation(db: None) -> Organisation:
    return OrganisationFactory(name="Acme")


@pytest.fixture
def other_organisation(db: None) -> Organisation:
    return OrganisationFactory(name="Globex")


@pytest.fixture
def api(organisation: Organisation) -> ApiClient:
    return _client_for(organisation)


@pytest.fixture
def other_api(other_organisation: Organisation) -> ApiClient:
    return _client_for(other_organisation)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """The real Redis of REDIS_URL (tests name their keys so they cannot collide)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


class Clock:
    """Moves `django.utils.timezone.now` forward for the code under test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from django.utils import timezone

        self.offset = timedelta(0)
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + self.offset)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def query_count() -> Any:
    """`with query_count() as queries: ...; len(queries)` counts the SQL statements run."""
    from django.test.utils import CaptureQueriesContext

    return lambda: CaptureQueriesContext(connection)


def run_concurrently(function: Any, count: int) -> None:
    """Runs `function(index)` in `count` threads released together; each closes its database
    connection (the threads are real clients of PostgreSQL, each in its own transactions).
    An exception in any thread is raised here once all have finished, so none goes unnoticed."""
    import threading

    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            function(index)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


# The bound of takes_at_most in the hostile-input tests: not a speed claim (speed is measured in
# bench/render_scaling.py), a guard against a blow-up. The linear code needs milliseconds, on a busy
# 2-core machine a little more; the quadratic code it replaced took 9 to 80 s on the same inputs.
GUARD_SECONDS = 5.0


@contextmanager
def takes_at_most(seconds: float) -> Iterator[None]:
    """Fails when the block runs longer (see GUARD_SECONDS)."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.2f} s, more than {seconds} s"

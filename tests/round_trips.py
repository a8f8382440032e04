"""Counting the round trips to PostgreSQL that a test's code makes (kraiter.statements' savings)."""

from unittest import mock

import psycopg
from django.db import connection
from django.test.utils import CaptureQueriesContext


class RoundTrips:
    """Every round trip to PostgreSQL: our statements (Django's cursor) and what psycopg sends
    on its own (BEGIN, COMMIT), and Django's health checks."""

    def __init__(self) -> None:
        self.alone: list[bytes] = []
        self.health_checks = 0

    def __enter__(self) -> "RoundTrips":
        real_exec, real_usable = psycopg.Connection._exec_command, connection.is_usable

        def exec_command(conn, command, *args, **kwargs):
            self.alone.append(bytes(command)[:20])
            return real_exec(conn, command, *args, **kwargs)

        def is_usable():
            self.health_checks += 1
            return real_usable()

        self._patches = [
            mock.patch.object(psycopg.Connection, "_exec_command", exec_command),
            mock.patch.object(connection, "is_usable", is_usable),
        ]
        for patch in self._patches:
            patch.start()
        self._queries = CaptureQueriesContext(connection).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._queries.__exit__(*exc)
        for patch in self._patches:
            patch.stop()

    @property
    def statements(self) -> list[str]:
        """Our query strings (Django also logs its BEGIN and COMMIT, which psycopg may not send)."""
        return [q["sql"] for q in self._queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]


def terminate_backend() -> None:
    """Kills this connection's PostgreSQL backend from another connection, as a database restart
    or a dropped proxy would: the next statement on it fails."""
    settings = connection.settings_dict
    dsn = f"host={settings['HOST']} port={settings['PORT'] or 5432} user={settings['USER']} dbname={settings['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])


def a_new_request() -> None:
    """What Django does when a request starts (close_old_connections): the next query checks the
    reused connection first. The test client does not send that signal."""
    connection.health_check_done = False

"""A sick broker never hangs the API: a Redis that accepts connections and never answers costs
the first request its bounded publish, the next ones nothing, and every send is committed for
the sweeper."""

import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

import sends.services
import sends.tasks
from kraiter.celery import app as celery_app
from sends.models import Send
from tests.factories import TemplateFactory


@dataclass
class HungBroker:
    url: str
    accepted: list[socket.socket]


@pytest.fixture
def hung_broker(settings) -> Iterator[HungBroker]:
    """A loopback TCP listener that accepts every connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    broker = HungBroker(url, accepted)
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    _forget_broker_connections()  # the next publish connects to the hung "broker"
    sends.tasks._broker_unavailable_until = 0.0
    yield broker
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()
    celery_app.conf.task_always_eager, celery_app.conf.broker_url, celery_app.conf.broker_transport_options = previous
    _forget_broker_connections()
    sends.tasks._broker_unavailable_until = 0.0


def _forget_broker_connections() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class StillBlocked(BaseException):
    """Not an Exception: the code under test must not be able to catch it and carry on."""


@contextmanager
def must_finish_within(seconds: float) -> Iterator[None]:
    """Fails (instead of hanging the suite) when the block is still blocked after `seconds`."""

    def expire(signum: int, frame: Any) -> None:
        raise StillBlocked(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_post_send_answers_while_the_broker_hangs_and_leaves_the_send_for_the_sweeper(
    api, hung_broker, settings, django_capture_on_commit_callbacks
):
    TemplateFactory(organisation=api.organisation, slug="receipt")
    # when the first send is published to a broker that never answers
    with (
        must_finish_within(4 * settings.REDIS_SOCKET_TIMEOUT_SECONDS + 5),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = api.post("/api/send", {"to": "c0@example.com", "templateId": "receipt"})
    # then the request still answers 201
    assert first.status_code == 201
    connections_tried = len(hung_broker.accepted)
    assert connections_tried >= 1
    # and the next requests do not wait on the broker at all (none connects to it)
    for n in (1, 2):
        with must_finish_within(5), django_capture_on_commit_callbacks(execute=True):
            assert api.post("/api/send", {"to": f"c{n}@example.com", "templateId": "receipt"}).status_code == 201
    assert len(hung_broker.accepted) == connections_tried
    # every send is committed and queued, for the sweeper to enqueue once the broker is back
    assert Send.objects.filter(organisation=api.organisation, status="queued").count() == 3

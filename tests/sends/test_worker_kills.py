"""A real worker process killed inside the SES call, after SES accepted the message: the one
window that can deliver twice. The next attempt comes at once (Celery hands the task out again
when its worker is lost), not after the lease, and its copy is marked."""

import os
import signal
import threading
import time

import pytest

from sends.models import Send
from sends.services import send_transactional
from tests.factories import TemplateFactory
from tests.standin_ses import Accepted, StandinSes
from tests.workers import celery_worker, pool_children

LEASE = 120  # long: the next attempt must not wait it out


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_ses_accepted_is_replaced_at_once_and_its_second_copy_marked(organisation):
    TemplateFactory(organisation=organisation, slug="receipt")
    first_accepted, release = threading.Event(), threading.Event()

    def hold_first_answer(message: Accepted) -> None:
        if not first_accepted.is_set():  # SES has the message; its answer waits for the kill
            first_accepted.set()
            release.wait(30)

    with (
        StandinSes(before_answer=hold_first_answer) as ses,
        celery_worker(
            pool="prefork",
            EMAIL_BACKEND="django_ses.SESBackend",
            AWS_SES_REGION_ENDPOINT_URL=ses.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            DELIVERY_LEASE_SECONDS=str(LEASE),
            DELIVERY_UNCERTAIN_POLICY="resend",
        ) as worker,
    ):
        # given a send whose delivery reaches SES
        send = send_transactional(organisation=organisation, to="kim@example.com", template_id="receipt", variables={})
        assert first_accepted.wait(60), worker.stdout.read1().decode() if worker.stdout else ""
        # when the pool process making the SES call is killed before the answer comes back
        [child] = pool_children(worker)
        os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        release.set()
        # then another process takes the send over and delivers it again, marked as a resend
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Send.objects.get(pk=send.id).status == "queued":
            time.sleep(0.2)
        send.refresh_from_db()
    assert send.status == "sent", send.last_error
    first, second = ses.accepted
    assert (first.send_id, second.send_id) == (send.id, send.id)
    assert (first.resend_of, second.resend_of) == (None, "1")
    assert second.at - killed_at < LEASE / 2  # taken over, not waited out
    [lost] = send.uncertain_attempts
    assert lost["attempt"] == 1 and "worker stopped" in lost["error"] and lost["resolution"] == "resent as attempt 2"
    assert send.attempts == 2 and send.ses_message_id == second.message_id

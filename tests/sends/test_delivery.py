"""Delivery through django-ses to (moto's) SES: never lost, never doubled (docs/design.md, "Delivery")."""

from datetime import timedelta
from unittest import mock

import pytest
from botocore.exceptions import EndpointConnectionError
from django.utils import timezone

from kraiter.api.ids import new_id
from sends import delivery
from sends.models import Send
from sends.services import send_transactional
from sends.tasks import sweep_queued_sends
from tests.conftest import run_concurrently
from tests.factories import TemplateFactory


@pytest.fixture
def template(organisation):
    return TemplateFactory(organisation=organisation, slug="receipt", name="Receipt", subject="Your receipt {{ n }}")


def queue_send(organisation, to="bob@example.com", variables=None) -> Send:
    """A queued send whose delivery task was never run (as if the broker lost it)."""
    with mock.patch("sends.services.send_enqueue_delivery"):
        return send_transactional(
            organisation=organisation, to=to, template_id="receipt", variables=variables or {"n": "#1"}
        )


def test_post_send_reaches_ses_with_the_right_headers_and_is_marked_sent(
    api, template, ses, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/send", {"to": "bob@example.com", "templateId": "receipt", "variables": {"n": "#42"}})
    send_id = response.json()["id"]
    [message] = ses.messages()
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "Your receipt #42"
    assert message["X-Kraiter-Send-Id"] == send_id
    assert message["List-Unsubscribe"].strip().startswith("<http") and "/unsubscribe/" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    stored = Send.objects.get(pk=send_id)
    assert stored.status == "sent" and stored.sent_at is not None
    assert stored.ses_message_id == ses.backend.sent_messages[0].id
    body = api.get(f"/api/sends/{send_id}").json()
    assert body["status"] == "sent" and body["sentAt"]


def test_configuration_set_and_message_tags_when_set(organisation, template, ses, settings):
    settings.AWS_SES_CONFIGURATION_SET = "kraiter-events"
    send = queue_send(organisation)
    delivery.deliver_send(send.id)
    [message] = ses.messages()
    assert message["X-SES-CONFIGURATION-SET"] == "kraiter-events"
    tags = dict(tag.strip().split("=") for tag in message["X-SES-MESSAGE-TAGS"].split(","))
    assert tags == {"organisation": organisation.id, "send_id": send.id, "template": "receipt", "domain": "example.com"}


def test_throttling_then_success_sends_one_mail(organisation, template, ses):
    ses.throttle_next(2)
    send = queue_send(organisation)
    results = [delivery.deliver_send(send.id, expected_attempt=attempt) for attempt in (None, 1, 2)]
    assert [r.outcome for r in results] == ["retry", "retry", "sent"]
    assert all(r.retry_in and r.retry_in > 0 for r in results[:2])
    assert len(ses.messages()) == 1 and ses.calls == 3
    send.refresh_from_db()
    assert (send.status, send.attempts) == ("sent", 3)


def test_the_celery_task_retries_throttling_by_itself(organisation, template, ses):
    ses.throttle_next(1)
    send = queue_send(organisation)
    from sends.tasks import deliver

    deliver.delay(send.id)  # eager in tests: the retry it schedules runs at once
    send.refresh_from_db()
    assert send.status == "sent" and len(ses.messages()) == 1


def test_an_ses_rejection_ends_the_send_without_retrying(organisation, template, ses):
    ses.reject_addresses.add("bob@example.com")
    send = queue_send(organisation)
    result = delivery.deliver_send(send.id)
    assert result.outcome == "rejected"
    send.refresh_from_db()
    assert send.status == "rejected" and "MessageRejected" in send.rejection_reason
    assert delivery.deliver_send(send.id).outcome == "not_claimed"
    assert ses.calls == 1 and ses.messages() == []


def test_network_errors_retry_and_give_up_after_the_maximum(organisation, template, ses, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    ses.fail_next += [EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")] * 3
    send = queue_send(organisation)
    outcomes = [delivery.deliver_send(send.id, expected_attempt=a).outcome for a in (None, 1, 2)]
    assert outcomes == ["retry", "retry", "rejected"]
    send.refresh_from_db()
    assert send.status == "rejected" and "Gave up after 3 attempts" in send.rejection_reason


def test_a_retry_waits_for_its_time_before_another_worker_may_take_it(organisation, template, ses):
    ses.throttle_next(1)
    send = queue_send(organisation)
    delivery.deliver_send(send.id)
    assert delivery.deliver_send(send.id).outcome == "not_claimed"  # a duplicate task, too early
    assert delivery.deliver_send(send.id, expected_attempt=1).outcome == "sent"


def sweep(capture) -> int:
    """The beat task as beat runs it: outside a transaction, so its enqueues go out at once."""
    with capture(execute=True):
        return sweep_queued_sends()


def test_a_worker_killed_after_claiming_is_replaced_after_its_lease(
    organisation, template, ses, settings, clock, django_capture_on_commit_callbacks
):
    send = queue_send(organisation)
    assert delivery.send_claim(send.id) is not None  # ... and the worker dies here
    assert sweep(django_capture_on_commit_callbacks) == 0  # its lease still runs: nobody else may send
    assert delivery.deliver_send(send.id).outcome == "not_claimed"
    clock.advance(timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1))
    assert sweep(django_capture_on_commit_callbacks) == 1  # eager: the re-enqueued delivery runs now
    send.refresh_from_db()
    assert send.status == "sent" and send.attempts == 2
    # The lost attempt may have reached SES: the second copy is marked, on the send and in the mail.
    [lost] = send.uncertain_attempts
    assert lost["attempt"] == 1 and "worker stopped" in lost["error"] and lost["resolution"] == "resent as attempt 2"
    [message] = ses.messages()
    assert message["X-Kraiter-Resend-Of"] == "1"
    assert sweep(django_capture_on_commit_callbacks) == 0


def test_a_send_whose_task_the_broker_lost_is_delivered_by_the_sweeper(
    organisation, template, ses, settings, clock, django_capture_on_commit_callbacks
):
    sends = [queue_send(organisation, to=f"lost{n}@example.com") for n in range(3)]  # their tasks never arrived
    assert sweep(django_capture_on_commit_callbacks) == 0  # too fresh: their tasks may still be on their way
    clock.advance(timedelta(seconds=settings.DELIVERY_PICKUP_GRACE_SECONDS + 1))
    assert sweep(django_capture_on_commit_callbacks) == 3  # one chunk task for the three
    for send in sends:
        send.refresh_from_db()
        assert send.status == "sent"
    assert len(ses.messages()) == 3


def test_many_sends_are_enqueued_in_chunks_and_one_send_alone(db, django_capture_on_commit_callbacks):
    from sends.services import send_enqueue_delivery

    ids = [new_id("snd") for _ in range(120)]
    chunks, singles = mock.patch("sends.tasks.deliver_chunk.delay"), mock.patch("sends.tasks.deliver.delay")
    with chunks as chunk, singles as single, django_capture_on_commit_callbacks(execute=True):
        send_enqueue_delivery(ids)
        send_enqueue_delivery(["snd_01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    assert [len(call.args[0]) for call in chunk.call_args_list] == [50, 50, 20]
    assert [call.args[0] for call in chunk.call_args_list] == [ids[:50], ids[50:100], ids[100:]]
    single.assert_called_once_with("snd_01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_a_stale_worker_cannot_overwrite_a_newer_attempt(organisation, template, ses):
    send = queue_send(organisation)
    stale = delivery.send_claim(send.id)
    Send.objects.filter(pk=send.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert delivery.deliver_send(send.id).outcome == "sent"  # attempt 2 takes over and sends
    delivery.send_mark_sent(stale, message_id="stale-id")
    send.refresh_from_db()
    assert send.ses_message_id != "stale-id" and send.attempts == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_send_make_one_ses_call(organisation, template, ses):
    send = queue_send(organisation)
    outcomes: list[str] = []
    run_concurrently(lambda index: outcomes.append(delivery.deliver_send(send.id).outcome), 6)
    assert sorted(outcomes) == ["not_claimed"] * 5 + ["sent"]
    assert ses.calls == 1 and len(ses.messages()) == 1


@pytest.mark.parametrize(
    "variables",
    [
        {"n": "1\r\nBcc: victim@evil.com"},
        {"n": "1\nX-Injected: yes"},
        {"n": "=?utf-8?q?x?=\r\n\r\nbody"},
    ],
)
def test_header_injection_through_variables_adds_no_header_or_recipient(organisation, template, ses, variables):
    send = queue_send(organisation, variables=variables)
    delivery.deliver_send(send.id)
    [message] = ses.messages()
    assert message.get_all("Bcc") is None and message.get_all("X-Injected") is None
    assert message.get_all("To") == ["bob@example.com"]
    assert set(ses.backend.sent_messages[0].destinations) == {"bob@example.com"}
    assert "\n" not in message["Subject"]


def test_purged_content_cannot_be_delivered(organisation, template, ses):
    send = queue_send(organisation)
    send.content.delete()
    assert delivery.deliver_send(send.id).outcome == "rejected"
    send.refresh_from_db()
    assert "purged" in send.rejection_reason and ses.calls == 0


def test_the_embedded_outbox_writes_one_eml_per_send(organisation, template, settings, tmp_path):
    settings.EMAIL_BACKEND = "kraiter.mail.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    send = queue_send(organisation)
    assert delivery.deliver_send(send.id).outcome == "sent"
    eml = (tmp_path / f"{send.id}.eml").read_text()
    assert "Subject: Your receipt #1" in eml and f"X-Kraiter-Send-Id: {send.id}" in eml

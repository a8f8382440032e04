"""Delivery under faults injected at the boundary: SES's answer lost after it accepted the
message, the database connection dropped on the `sent` write, the contact or the organisation
changed between queueing and claiming. Each test asserts what reached (moto's) SES and what the
send records (sends/delivery.py's docstring lists the windows)."""

from datetime import timedelta
from unittest import mock
from urllib.parse import urlparse

import pytest
from botocore.exceptions import EndpointConnectionError
from django.db import OperationalError

from contacts.services import contact_suppress, contact_update
from kraiter.links import unsubscribe_url
from sends import delivery
from sends.models import Send
from sends.services import send_transactional
from tests.factories import TemplateFactory
from tests.sends import ses_examples
from tests.sends.test_webhook import post


@pytest.fixture
def template(organisation):
    return TemplateFactory(organisation=organisation, slug="receipt", name="Receipt", subject="Your receipt")


def queue_send(organisation, to="bob@example.com", **options) -> Send:
    """A queued send whose delivery task has not run yet."""
    with mock.patch("sends.services.send_enqueue_delivery"):
        return send_transactional(organisation=organisation, to=to, template_id="receipt", variables={}, **options)


def deliver_after(clock, send, seconds) -> delivery.DeliveryResult:
    """What the task scheduled by the previous attempt does, `seconds` later."""
    clock.advance(timedelta(seconds=seconds + 1))
    return delivery.deliver_send(send.id)


# --- SES accepted, its answer was lost ------------------------------------------------------------


def test_a_lost_answer_is_recorded_as_uncertain_and_not_resent_at_once(api, organisation, template, ses):
    # given SES takes the message and its answer is lost (a read timeout)
    ses.lose_answers = 1
    send = queue_send(organisation)
    # when the worker delivers it
    result = delivery.deliver_send(send.id)
    # then the attempt is recorded as one SES may have accepted, and the send waits
    assert result.outcome == "uncertain" and result.retry_in and result.retry_in > 0
    assert len(ses.messages()) == 1
    send.refresh_from_db()
    assert send.status == "queued" and "outcome unknown" in send.last_error
    [entry] = api.get(f"/api/sends/{send.id}").json()["uncertainAttempts"]
    assert entry["attempt"] == 1 and "ReadTimeoutError" in entry["error"] and entry["resolution"] == ""
    # and a duplicate task, too early, does not send it again
    assert delivery.deliver_send(send.id).outcome == "not_claimed"
    assert len(ses.messages()) == 1


def test_ses_event_stream_settles_an_uncertain_attempt_and_nothing_is_resent(
    client, ses, sns, organisation, template, settings, clock
):
    settings.DELIVERY_UNCERTAIN_WAIT_SECONDS = 60
    ses.lose_answers = 1
    send = queue_send(organisation)
    delivery.deliver_send(send.id)
    [accepted] = ses.backend.sent_messages
    # when SES's own Send event for the message arrives (it carries our send id as a tag)
    event = ses_examples.event("Send", message_id=accepted.id, send_id=send.id, recipient=send.email,
                               at="2026-12-01T10:00:00.000Z")  # fmt: skip
    assert post(client, sns.notification(event)).status_code == 200
    # then the send is sent with SES's id, the attempt is confirmed, and no attempt follows
    send.refresh_from_db()
    assert (send.status, send.ses_message_id) == ("sent", accepted.id)
    assert send.uncertain_attempts[0]["resolution"] == "confirmed: the message was reported sent"
    assert deliver_after(clock, send, 60).outcome == "not_claimed"
    assert len(ses.messages()) == 1


def test_without_an_event_the_send_is_resent_once_the_window_passed_and_the_resend_is_marked(
    organisation, template, ses, settings, clock
):
    settings.DELIVERY_UNCERTAIN_WAIT_SECONDS = 60
    ses.lose_answers = 1
    send = queue_send(organisation)
    delivery.deliver_send(send.id)
    clock.advance(timedelta(seconds=30))
    assert delivery.deliver_send(send.id).outcome == "not_claimed"  # still inside the window
    assert deliver_after(clock, send, 30).outcome == "sent"
    first, second = ses.messages()
    assert first["X-Kraiter-Resend-Of"] is None and second["X-Kraiter-Resend-Of"] == "1"
    send.refresh_from_db()
    assert send.status == "sent" and send.ses_message_id == ses.backend.sent_messages[1].id
    assert send.uncertain_attempts[0]["resolution"] == "resent as attempt 2"


def test_hold_policy_sends_nothing_more_and_ends_the_send_sent_unconfirmed(organisation, template, ses, settings):
    settings.DELIVERY_UNCERTAIN_POLICY = "hold"
    ses.lose_answers = 1
    send = queue_send(organisation)
    result = delivery.deliver_send(send.id)
    send.refresh_from_db()  # the lease holds it for a moment even with no window to wait for
    Send.objects.filter(pk=send.id).update(lease_expires_at=None)
    assert delivery.deliver_send(send.id, expected_attempt=result.attempt).outcome == "sent"
    assert len(ses.messages()) == 1
    send.refresh_from_db()
    assert send.status == "sent" and send.ses_message_id is None and send.sent_at is not None
    assert "unconfirmed" in send.last_error and "hold" in send.last_error
    assert send.uncertain_attempts[0]["resolution"].startswith("not resent")


def test_an_answer_always_lost_costs_a_bounded_number_of_marked_copies_and_never_rejected(
    organisation, template, ses, settings, clock
):
    settings.DELIVERY_MAX_UNCERTAIN_RESENDS = 2
    ses.lose_answers = 100
    send = queue_send(organisation)
    outcomes = [delivery.deliver_send(send.id).outcome]
    for _ in range(10):
        outcomes.append(deliver_after(clock, send, 600).outcome)
    assert outcomes[:4] == ["uncertain", "uncertain", "uncertain", "sent"]
    assert set(outcomes[4:]) == {"not_claimed"}
    messages = ses.messages()
    assert len(messages) == 3 and [m["X-Kraiter-Resend-Of"] for m in messages] == [None, "1", "2"]
    send.refresh_from_db()
    assert send.status == "sent" and "unconfirmed" in send.last_error
    assert [e["resolution"] for e in send.uncertain_attempts] == [
        "resent as attempt 2",
        "resent as attempt 3",
        "not resent (it was already resent 2 time(s) (DELIVERY_MAX_UNCERTAIN_RESENDS))",
    ]


def test_a_resend_throttled_by_ses_resent_nothing_and_the_copy_that_goes_out_is_marked(
    organisation, template, ses, clock
):
    # given attempt 1 whose answer was lost (SES has the message), and its resend throttled
    ses.lose_answers = 1
    send = queue_send(organisation)
    assert delivery.deliver_send(send.id).outcome == "uncertain"
    ses.throttle_next()
    clock.advance(timedelta(seconds=5))
    resend = delivery.deliver_send(send.id)
    assert resend.outcome == "retry"
    send.refresh_from_db()
    assert send.uncertain_attempts[0]["resolution"] == ""  # attempt 2 resent nothing
    # when the retry goes through
    assert delivery.deliver_send(send.id, expected_attempt=resend.attempt).outcome == "sent"
    # then the second copy SES received is marked as a resend of attempt 1, and the list says so
    first, second = ses.messages()
    assert (first["X-Kraiter-Resend-Of"], second["X-Kraiter-Resend-Of"]) == (None, "1")
    send.refresh_from_db()
    assert [e["resolution"] for e in send.uncertain_attempts] == ["resent as attempt 3"]


def test_a_connection_that_never_opened_is_retried_without_being_called_uncertain(organisation, template, ses):
    ses.fail_next.append(EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    send = queue_send(organisation)
    assert delivery.deliver_send(send.id).outcome == "retry"
    assert delivery.deliver_send(send.id, expected_attempt=1).outcome == "sent"
    send.refresh_from_db()
    assert send.uncertain_attempts == [] and len(ses.messages()) == 1


def test_giving_up_after_an_uncertain_attempt_ends_sent_unconfirmed_not_rejected(organisation, template, ses, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    ses.lose_answers = 1
    ses.fail_next += [None, EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")]
    send = queue_send(organisation)
    first = delivery.deliver_send(send.id)
    Send.objects.filter(pk=send.id).update(lease_expires_at=None)
    assert first.outcome == "uncertain" and delivery.deliver_send(send.id).outcome == "sent"
    send.refresh_from_db()
    assert send.status == "sent" and send.rejection_reason is None and "unconfirmed" in send.last_error


def test_an_ses_event_lifts_a_send_rejected_after_an_uncertain_attempt(client, ses, sns, organisation, template):
    ses.lose_answers = 1
    send = queue_send(organisation)
    delivery.deliver_send(send.id)
    ses.reject_addresses.add("bob@example.com")
    Send.objects.filter(pk=send.id).update(lease_expires_at=None)
    assert delivery.deliver_send(send.id).outcome == "rejected"  # the resend was refused...
    event = ses_examples.event("Delivery", message_id="0100-first-copy", send_id=send.id, recipient=send.email,
                               at="2026-12-01T10:00:00.000Z")  # fmt: skip
    post(client, sns.notification(event))  # ... but the first copy had been accepted, and delivered
    send.refresh_from_db()
    assert send.status == "delivered" and send.rejection_reason is None and "Was rejected" in send.last_error


# --- the database connection drops right after SES accepted --------------------------------------


def test_the_sent_write_is_retried_on_a_fresh_connection(organisation, template, ses):
    send = queue_send(organisation)
    calls = {"n": 0}

    def flaky_mark(claim, *, message_id):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return original(claim, message_id=message_id)

    original = delivery.send_mark_sent
    with mock.patch.object(delivery, "send_mark_sent", flaky_mark):
        assert delivery.deliver_send(send.id).outcome == "sent"
    assert calls["n"] == 3
    send.refresh_from_db()
    assert send.status == "sent" and send.ses_message_id == ses.backend.sent_messages[0].id
    assert len(ses.messages()) == 1 and send.uncertain_attempts == []


def test_a_sent_write_that_never_succeeds_makes_the_next_attempt_uncertain_and_marked(
    organisation, template, ses, settings, clock
):
    settings.DELIVERY_LEASE_SECONDS = 2  # the write is retried for as long as the lease lasts
    send = queue_send(organisation)
    with (
        mock.patch.object(delivery, "send_mark_sent", side_effect=OperationalError("the database is gone")),
        pytest.raises(OperationalError),
    ):
        delivery.deliver_send(send.id)
    assert len(ses.messages()) == 1
    # when the database is back and the lease has run out, the next attempt finds one that recorded nothing
    assert deliver_after(clock, send, 2).outcome == "sent"
    first, second = ses.messages()
    assert (first["X-Kraiter-Resend-Of"], second["X-Kraiter-Resend-Of"]) == (None, "1")
    send.refresh_from_db()
    [lost] = send.uncertain_attempts
    assert lost["attempt"] == 1 and "worker stopped" in lost["error"] and lost["resolution"] == "resent as attempt 2"


def test_a_worker_that_outlived_its_lease_records_its_accepted_copy(organisation, template, ses):
    send = queue_send(organisation)
    stale = delivery.send_claim(send.id)
    Send.objects.filter(pk=send.id).update(lease_expires_at=None)
    assert delivery.deliver_send(send.id).outcome == "sent"  # attempt 2 took over and sent
    delivery.send_mark_sent(stale, message_id="late-copy")  # attempt 1's answer comes back
    send.refresh_from_db()
    assert send.ses_message_id != "late-copy"
    lost, late = send.uncertain_attempts  # attempt 1 recorded nothing when 2 claimed; then its copy arrived
    assert lost["attempt"] == 1 and lost["resolution"] == "resent as attempt 2"
    assert late["attempt"] == 1 and "late-copy" in late["error"] and late["resolution"] == "accepted"


# --- everything is checked again right before SES -------------------------------------------------


def test_opt_outs_between_queueing_and_claiming_stop_the_send(client, organisation, template, ses):
    # given three sends queued
    unsubscribing, suppressed, untouched = (queue_send(organisation, to=f"{n}@example.com") for n in ("u", "s", "t"))
    # when one contact unsubscribes with the one-click link, one is suppressed, one is untouched
    assert client.post(urlparse(unsubscribe_url(unsubscribing.id)).path).status_code == 200
    contact_suppress(contact=suppressed.contact, reason="manual")
    outcomes = [delivery.deliver_send(send.id).outcome for send in (unsubscribing, suppressed, untouched)]
    # then only the untouched one reaches SES, and the others say why
    assert outcomes == ["rejected", "rejected", "sent"]
    assert [m["To"] for m in ses.messages()] == ["t@example.com"]
    unsubscribing.refresh_from_db()
    suppressed.refresh_from_db()
    assert unsubscribing.rejection_reason == "Contact has unsubscribed."
    assert suppressed.rejection_reason == "Contact is suppressed (manual)."


def test_ignore_unsubscribe_still_goes_out_after_an_unsubscribe(organisation, template, ses):
    send = queue_send(organisation, ignore_unsubscribe=True)
    contact_update(contact=send.contact, unsubscribed=True)
    assert delivery.deliver_send(send.id).outcome == "sent" and len(ses.messages()) == 1


def test_a_deleted_contact_is_not_mailed(organisation, template, ses):
    send = queue_send(organisation)
    send.contact.delete()
    assert delivery.deliver_send(send.id).outcome == "rejected"
    send.refresh_from_db()
    assert "deleted" in send.rejection_reason and ses.calls == 0


def test_a_paused_organisation_sends_nothing_more(organisation, template, ses):
    send = queue_send(organisation)
    organisation.sending_status = "paused"
    organisation.save()
    assert delivery.deliver_send(send.id).outcome == "rejected"
    send.refresh_from_db()
    assert send.rejection_reason == "Sending is paused for this organisation." and ses.calls == 0

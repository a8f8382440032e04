"""The SES webhook as it runs in production: each notification outside any transaction of a
test, so that its own transaction, and the connection it runs on, are real (issue 13: two round
trips per notification; a dead connection found by the first statement)."""

from unittest import mock

import psycopg
import pytest
from django.db import connection

from contacts.models import Event
from sends.engagement import pipeline
from sends.models import SesNotification
from tests.round_trips import RoundTrips, a_new_request, terminate_backend
from tests.sends.test_webhook import post, ses_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_notification_is_two_round_trips_begin_commit_and_the_check_riding_along(client, sns, sent):
    post(client, sns.notification(ses_event(sent, "Delivery", 0.5)))  # the certificate is fetched and cached
    a_new_request()
    with RoundTrips() as trips:
        assert post(client, sns.notification(ses_event(sent, "Open", 1))).status_code == 200
    assert trips.health_checks == 0 and trips.alone == [], (trips.health_checks, trips.alone)
    assert len(trips.statements) == 2, trips.statements
    first, writes = trips.statements
    assert first.startswith('BEGIN; INSERT INTO "sends_sesnotification"') and "FOR UPDATE" in first
    assert writes.startswith('UPDATE "sends_send" SET "opened_at"') and writes.endswith("; COMMIT")
    sent.refresh_from_db()
    assert sent.opened_at is not None and sent.status == "delivered"
    assert Event.objects.filter(send_id=sent.id, name="email.opened").count() == 1
    # The connection is left as Django expects it: autocommit, no transaction open.
    assert connection.get_autocommit() and connection.connection.autocommit
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_dead_connection_is_replaced_and_the_notification_applied_once(client, sns, sent):
    post(client, sns.notification(ses_event(sent, "Delivery", 0.5)))
    terminate_backend()
    a_new_request()
    assert post(client, sns.notification(ses_event(sent, "Open", 1))).status_code == 200
    sent.refresh_from_db()
    assert sent.opened_at is not None
    assert Event.objects.filter(send_id=sent.id, name="email.opened").count() == 1
    assert SesNotification.objects.filter(processed_at__isnull=False, error="").count() == 2


def test_a_failing_write_rolls_back_everything_and_the_retry_applies_it(client, sns, sent):
    """The writes' string fails after its BEGIN rode on the first statement: nothing of the
    notification is applied, it is kept with the error, and SNS's retry applies it."""
    post(client, sns.notification(ses_event(sent, "Delivery", 0.5)))
    notification = sns.notification(ses_event(sent, "Open", 1))
    real = pipeline._record_event

    def failing(send, fact, writes):
        real(send, fact, writes)
        writes.add("SELECT 1 / 0")

    a_new_request()
    with mock.patch.object(pipeline, "_record_event", failing), pytest.raises(Exception, match="division by zero"):
        post(client, notification)
    sent.refresh_from_db()
    assert sent.opened_at is None and not Event.objects.filter(send_id=sent.id, name="email.opened").exists()
    kept = SesNotification.objects.get(message_id=notification["MessageId"])
    assert kept.processed_at is None and "division by zero" in kept.error
    assert connection.get_autocommit() and connection.connection.autocommit
    a_new_request()
    assert post(client, notification).status_code == 200  # SNS retries
    sent.refresh_from_db()
    assert sent.opened_at is not None
    assert Event.objects.filter(send_id=sent.id, name="email.opened").count() == 1

"""import_ses_events, requeue_stuck_sends and purge_send_content, on real files and rows."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sends.models import Send, SendContent, SesNotification
from tests.factories import SendFactory
from tests.sends import ses_examples


def run(command, *args):
    out, err = StringIO(), StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=err)
    return out.getvalue()


def run_failing(command, *args):
    """The output of a command that ends in an error (a non-zero exit from manage.py), and the error."""
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command(command, *map(str, args), stdout=out, stderr=StringIO())
    return out.getvalue(), str(error.value)


def at(minutes):
    return (datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def two_sends(organisation):
    return [
        SendFactory(organisation=organisation, status="sent", ses_message_id=f"ses-{n}", email=f"p{n}@example.com")
        for n in range(2)
    ]


def test_import_ses_events_from_sns_sqs_and_firehose_exports(tmp_path, two_sends):
    first, second = two_sends
    delivery = ses_examples.event("Delivery", message_id="ses-0", send_id=first.id, recipient=first.email, at=at(1))
    sns_line = {"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:t", "Message": json.dumps(delivery)}
    opened = ses_examples.event("Open", message_id="ses-0", send_id=None, recipient=first.email, at=at(5))
    sqs_line = {
        "MessageId": "sqs-1",
        "Body": json.dumps({"Type": "Notification", "MessageId": "sns-2", "Message": json.dumps(opened)}),
    }
    bounce = ses_examples.event("Bounce", message_id="ses-1", send_id=second.id, recipient=second.email, at=at(2))
    unknown = {"eventType": "Subscription", "mail": {"messageId": "ses-1"}}
    stranger = ses_examples.event("Delivery", message_id="not-ours", send_id=None, recipient="x@y.z", at=at(3))
    lines = [sns_line, sqs_line, bounce, bounce, sns_line, unknown, stranger]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken json\n\n", encoding="utf-8")

    out, error = run_failing("import_ses_events", path, "--dry-run")
    assert "Would import: 1 ignored, 6 readable, 1 unreadable" in out and "1 line(s) could not be read" in error
    assert not SesNotification.objects.exists()

    out, error = run_failing("import_ses_events", path)
    assert "3 applied, 2 duplicate, 2 ignored, 1 unreadable" in out and "line 8" in out
    assert "ignored: events of a type we do not use" in out and "could not be read" in error
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "delivered" and first.opened_at is not None
    assert second.status == "bounced" and second.contact.suppressed
    assert "7 duplicate" in run_failing("import_ses_events", path)[0]  # the same file twice changes nothing
    path.write_text(json.dumps(sns_line) + "\n", encoding="utf-8")
    assert "1 duplicate" in run("import_ses_events", path)  # every line read: no error


def test_import_ses_events_needs_a_file(db, tmp_path):
    with pytest.raises(CommandError, match="No file"):
        run("import_ses_events", tmp_path / "none.jsonl")


def test_requeue_stuck_sends(organisation, django_capture_on_commit_callbacks):
    old = SendFactory(organisation=organisation, created_at=timezone.now() - timedelta(hours=2))
    SendContent.objects.create(send=old, html="<p>x</p>", text="x")
    SendFactory(organisation=organisation)  # fresh: a worker may still be on it
    SendFactory(organisation=organisation, status="sent", created_at=timezone.now() - timedelta(hours=3))
    assert "Would re-enqueue 1 send(s)" in run("requeue_stuck_sends", "--older-than", "1h", "--dry-run")
    with mock.patch("sends.tasks.deliver.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        assert "Re-enqueued 1 send(s)" in run("requeue_stuck_sends", "--older-than", "1h")
    delay.assert_called_once_with(old.id)
    with pytest.raises(CommandError):
        run("requeue_stuck_sends", "--older-than", "soon")


def test_purge_send_content_keeps_the_log(organisation):
    from kraiter.api.ids import new_id

    sends = []
    for days in (200, 100, 1):
        send = SendFactory(organisation=organisation, id=new_id("snd", at=timezone.now() - timedelta(days=days)))
        SendContent.objects.create(send=send, html="<p>x</p>", text="x")
        sends.append(send)
    assert "Would delete the content of 2 send(s)" in run("purge_send_content", "--older-than", "90d", "--dry-run")
    assert SendContent.objects.count() == 3
    assert "Deleted the content of 2 send(s)" in run("purge_send_content", "--older-than", "90d", "--batch-size", "1")
    assert list(SendContent.objects.values_list("send_id", flat=True)) == [sends[2].id]
    assert Send.objects.count() == 3
    assert "Deleted the content of 0" in run("purge_send_content", "--older-than", "90d")

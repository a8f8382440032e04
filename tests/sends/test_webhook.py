"""POST /webhooks/ses/: SES events over SNS, verified, stored, applied once (docs/api.md 9)."""

import base64
import copy
import json
import random
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from contacts.models import Contact
from scheduling.models import ScheduledSend
from sends.models import SesNotification
from tests.factories import ContactFactory, SendFactory
from tests.sends import ses_examples
from tests.sends.sns import CERT_URL


def post(client, notification):
    return client.post("/webhooks/ses/", data=json.dumps(notification), content_type="text/plain; charset=UTF-8")


def at(minutes: float) -> str:
    moment = datetime(2026, 11, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ses_event(send, kind, minutes=1.0, *, by_tag=True, **extra):
    return ses_examples.event(
        kind, message_id=send.ses_message_id, send_id=send.id if by_tag else None, recipient=send.email,
        at=at(minutes), **extra,
    )  # fmt: skip


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_delivery_is_verified_stored_and_applied(client, sns, sent, version):
    notification = sns.notification(ses_event(sent, "Delivery", 0.5), version=version)
    response = post(client, notification)
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == "delivered" and sent.delivered_at == datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)
    stored = SesNotification.objects.get()
    assert stored.message_id == notification["MessageId"] and stored.processed_at and stored.event_type == "Delivery"


@pytest.mark.parametrize(
    ("kind", "extra", "status", "field"),
    [
        ("Send", {}, "sent", "sent_at"),
        ("Open", {}, "sent", "opened_at"),
        ("Click", {}, "sent", "clicked_at"),
        ("Bounce", {"bounce_type": "Transient"}, "bounced", "bounced_at"),
        ("Bounce", {"bounce_type": "Permanent"}, "bounced", "bounced_at"),
        ("Complaint", {}, "complained", "complained_at"),
    ],
)
def test_every_event_type_sets_its_timestamp_and_status(client, sns, sent, kind, extra, status, field):
    assert post(client, sns.notification(ses_event(sent, kind, 2, **extra))).status_code == 200
    sent.refresh_from_db()
    assert sent.status == status
    assert getattr(sent, field) is not None
    if kind == "Click":
        assert sent.opened_at == sent.clicked_at  # a click implies an open


def test_events_without_our_tags_are_matched_by_ses_message_id(client, sns, sent):
    post(client, sns.notification(ses_event(sent, "Delivery", by_tag=False)))
    sent.refresh_from_db()
    assert sent.status == "delivered"


@pytest.mark.parametrize(("kind", "reason"), [("Reject", "Bad content"), ("Rendering Failure", "rendering data")])
def test_reject_and_rendering_failure_end_the_send_as_rejected(client, sns, sent, kind, reason):
    assert post(client, sns.notification(ses_event(sent, kind))).status_code == 200
    sent.refresh_from_db()
    assert sent.status == "rejected" and reason in sent.rejection_reason
    assert SesNotification.objects.get().event_type == kind


def test_a_delivery_delay_is_stored_and_shown(client, sns, sent):
    post(client, sns.notification(ses_event(sent, "DeliveryDelay")))
    sent.refresh_from_db()
    assert sent.status == "sent" and "TransientCommunicationFailure" in sent.last_error


def test_a_permanent_bounce_suppresses_the_contact_and_cancels_its_scheduled_sends(client, sns, sent, api):
    contact = sent.contact
    _schedule_a_send_for(api, contact)
    post(client, sns.notification(ses_event(sent, "Bounce", bounce_type="Permanent")))
    contact.refresh_from_db()
    assert (contact.suppressed, contact.suppression_reason) == (True, "bounced")
    assert not ScheduledSend.objects.filter(contact=contact).exists()


def _schedule_a_send_for(api, contact):
    from tests.factories import TemplateFactory

    TemplateFactory(organisation=api.organisation, slug="nudge")
    api.put("/api/sequences/nudge", {"name": "Nudge", "definition": "steps: [{delay: 1d}, {send: nudge}]"})
    api.post("/api/sequences/nudge/activate")
    api.post("/api/sequences/nudge/enrol", {"contactId": contact.id})
    assert ScheduledSend.objects.filter(contact=contact).exists()


def test_a_transient_bounce_does_not_suppress(client, sns, sent):
    post(client, sns.notification(ses_event(sent, "Bounce", bounce_type="Transient")))
    assert Contact.objects.get(pk=sent.contact_id).suppressed is False


def test_a_complaint_suppresses(client, sns, sent):
    post(client, sns.notification(ses_event(sent, "Complaint")))
    contact = Contact.objects.get(pk=sent.contact_id)
    assert (contact.suppressed, contact.suppression_reason) == (True, "complained")


def test_a_redelivered_notification_changes_nothing(client, sns, sent):
    notification = sns.notification(ses_event(sent, "Open", 5))
    post(client, notification)
    sent.refresh_from_db()
    first = sent.opened_at
    assert post(client, notification).status_code == 200
    sent.refresh_from_db()
    assert sent.opened_at == first and SesNotification.objects.count() == 1


def test_a_failure_to_apply_is_a_500_with_the_notification_kept_for_the_retry(client, sns, sent):
    notification = sns.notification(ses_event(sent, "Delivery"))
    client.raise_request_exception = False  # as served: the error reaches the client as a 500
    with mock.patch("sends.engagement.ses.engagement_record", side_effect=RuntimeError("database hiccup")):
        failed = post(client, notification)
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "INTERNAL_ERROR"
    stored = SesNotification.objects.get()
    assert stored.processed_at is None and "database hiccup" in stored.error
    sent.refresh_from_db()
    assert sent.status == "sent"
    assert post(client, notification).status_code == 200  # SNS retries
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert SesNotification.objects.get().processed_at is not None


def _flip_message_byte(n):
    n["Message"] = n["Message"].replace('"Delivery"', '"Delivere"', 1)


def _other_topic(n):
    n["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:attacker"


def _old(n):
    n["Timestamp"] = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _http_certificate(n):
    n["SigningCertURL"] = CERT_URL.replace("https://", "http://")


def _foreign_host(n):
    n["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem"


def _wrong_version(n):
    n["SignatureVersion"] = "2"  # signed with SHA1 (version 1)


def _unknown_version(n):
    n["SignatureVersion"] = "3"


def _garbled_signature(n):
    n["Signature"] = base64.b64encode(b"\x00" * 256).decode()


@pytest.mark.parametrize(
    "mutate",
    [
        _flip_message_byte,
        _other_topic,
        _old,
        _http_certificate,
        _foreign_host,
        _wrong_version,
        _unknown_version,
        _garbled_signature,
    ],
)
def test_mutants_are_refused_with_no_database_write(client, sns, sent, mutate, django_assert_max_num_queries):
    notification = sns.notification(ses_event(sent, "Delivery"))
    mutated = copy.deepcopy(notification)
    mutate(mutated)
    with django_assert_max_num_queries(0):
        response = post(client, mutated)
    assert response.status_code == 400
    assert not SesNotification.objects.exists()
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_a_topic_resigned_by_someone_else_is_refused(client, sns, sent, settings):
    from tests.sends.sns import FakeSns

    attacker = FakeSns()  # a valid signature, but not by the certificate at the SNS URL
    notification = attacker.notification(ses_event(sent, "Delivery"))
    assert post(client, notification).status_code == 400
    settings.AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS = []
    assert post(client, sns.notification(ses_event(sent, "Delivery"))).status_code == 400  # fails closed
    assert not SesNotification.objects.exists()


def test_subscription_confirmation_only_for_trusted_topics(client, sns, db):
    with mock.patch("django_ses.utils.urlopen") as fetch:
        assert post(client, sns.subscription()).status_code == 200
        fetch.assert_called_once()
        assert fetch.call_args.args[0].startswith("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")
    with mock.patch("django_ses.utils.urlopen") as fetch:
        untrusted = sns.subscription(TopicArn="arn:aws:sns:us-east-1:999999999999:attacker")
        assert post(client, untrusted).status_code == 400
        fetch.assert_not_called()


def test_bad_json_is_400(client, sns, db):
    assert client.post("/webhooks/ses/", data="{not json", content_type="text/plain").status_code == 400
    assert client.post("/webhooks/ses/", data="[1]", content_type="text/plain").status_code == 400
    assert client.get("/webhooks/ses/").status_code == 405


SCENARIOS = [
    ["Send", "Delivery", "Open", "Click"],
    ["Send", "Delivery", "Open", "Open"],
    ["Send", "Bounce"],
    ["Send", "Bounce:Transient", "Delivery"],
    ["Send", "Delivery", "Complaint"],
    ["Send", "DeliveryDelay", "Delivery", "Click"],
    ["Send", "Reject"],
    ["Delivery", "Open", "Click", "Click"],
]


def _scenario_events(send, scenario):
    events = []
    for minute, step in enumerate(scenario, start=1):
        kind, _, bounce_type = step.partition(":")
        extra = {"bounce_type": bounce_type or "Permanent"} if kind == "Bounce" else {}
        events.append(ses_event(send, kind, minute, **extra))
    return events


def _state(send):
    send.refresh_from_db()
    contact = Contact.objects.get(pk=send.contact_id)
    return (
        send.status, send.sent_at, send.delivered_at, send.opened_at, send.clicked_at, send.bounced_at,
        send.complained_at, contact.suppressed, contact.suppression_reason,
    )  # fmt: skip


def test_three_shuffled_deliveries_of_every_event_equal_one_in_order_delivery(client, sns, organisation):
    """1,000 sends, each with a life of several SES events: delivered once in order to one copy,
    and three times in random order to another. Both copies end in the same state."""
    rng = random.Random(20261121)
    pairs, in_order, shuffled = [], [], []
    for n in range(1000):
        scenario = SCENARIOS[n % len(SCENARIOS)]
        copies = []
        for copy_name in ("a", "b"):
            contact = ContactFactory(organisation=organisation, email=f"{copy_name}{n}@example.com")
            copies.append(
                SendFactory(
                    organisation=organisation, contact=contact, status="queued", ses_message_id=f"ses-{copy_name}-{n}"
                )
            )
        pairs.append(copies)
        in_order += [sns.notification(e) for e in _scenario_events(copies[0], scenario)]
        notifications = [sns.notification(e) for e in _scenario_events(copies[1], scenario)]
        shuffled += notifications * 3
    rng.shuffle(shuffled)
    for notification in in_order + shuffled:
        assert post(client, notification).status_code == 200
    for first, second in pairs:
        assert _state(first) == _state(second), (first.id, second.id)
    statuses = {_state(first)[0] for first, _ in pairs}
    assert statuses == {"delivered", "bounced", "complained", "rejected"}


# Hostile input (issue 12). Each forged message below is refused by exactly one guard: it is
# signed, fresh, from the trusted topic and certificate unless the test says otherwise.


def assert_refused(response, sent):
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not SesNotification.objects.exists()
    sent.refresh_from_db()
    assert sent.status == "sent"


@pytest.mark.parametrize("body", ["[" * 1000, "[" * 100_000, '{"a": ' * 50 + "1" + "}" * 50])
def test_deeply_nested_bodies_are_400(client, sns, sent, body):
    # '[' * 1000 from anyone, no credential, was a 500 with a traceback
    response = client.post("/webhooks/ses/", data=body, content_type="text/plain")
    assert_refused(response, sent)
    assert "nested more than 32 levels deep" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda n: n.update(UnsubscribeURL="https://sns.example/\u0000"),  # not signed: PostgreSQL's DataError
        lambda n: n.update(Signature=12345),  # was a TypeError: 500
    ],
)
def test_malformed_fields_are_400_not_500(client, sns, sent, mutate):
    notification = sns.notification(ses_event(sent, "Delivery"))
    mutate(notification)
    assert_refused(post(client, notification), sent)


def test_a_signed_event_holding_a_nul_is_refused(client, sns, sent):
    event = ses_event(sent, "Delivery")
    event["mail"]["source"] = "no-reply\u0000@example.com"
    assert_refused(post(client, sns.notification(event)), sent)


def test_a_resplit_notification_is_refused(client, sns, sent):
    # Given a real notification, delivered once
    original = sns.notification(ses_event(sent, "Delivery"))
    assert post(client, original).status_code == 200
    # When someone holding it drops the MessageId and appends it to the Message: the signed text
    # ("Message\n...\nMessageId\n...\n") is unchanged, so the signature still verifies
    resplit = {k: v for k, v in original.items() if k != "MessageId"}
    resplit["Message"] = f"{original['Message']}\nMessageId\n{original['MessageId']}"
    # Then it is refused before the signature is checked, and nothing new is stored
    assert post(client, resplit).status_code == 400
    assert SesNotification.objects.count() == 1


def test_a_subject_moved_into_another_field_is_refused(client, sns, sent):
    original = sns.notification(ses_event(sent, "Delivery"), Subject="Amazon SES Email Event Notification")
    moved = {k: v for k, v in original.items() if k != "Subject"}
    moved["MessageId"] = f"{original['MessageId']}\nSubject\n{original['Subject']}"
    assert_refused(post(client, moved), sent)


@pytest.mark.parametrize("hours", [-2, 2])
def test_a_fresh_signature_over_an_old_or_future_timestamp_is_refused(client, sns, sent, hours):
    # Signed as it stands, so only the freshness rule can refuse it
    moment = (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert_refused(post(client, sns.notification(ses_event(sent, "Delivery"), Timestamp=moment)), sent)


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem",
        CERT_URL.replace("https://", "http://"),
        "https://evil.example/SimpleNotificationService-6aad65c2f9911b05cd53efda11f913f9.pem",
    ],
)
def test_a_signing_certificate_at_a_foreign_url_is_never_fetched(client, sns, sent, url):
    # The fake network serves our real certificate at the foreign URL too, and the message is
    # signed with its key: only the certificate-URL rule stands between it and acceptance.
    sns.http.get(url, body=sns.pem)
    notification = sns.notification(ses_event(sent, "Delivery"), SigningCertURL=url)
    assert_refused(post(client, notification), sent)
    assert not [call for call in sns.http.calls if call.request.url == url]


def test_a_signed_notification_from_an_untrusted_topic_is_refused(client, sns, sent):
    notification = sns.notification(ses_event(sent, "Delivery"), TopicArn="arn:aws:sns:us-east-1:999999999999:other")
    assert_refused(post(client, notification), sent)


def test_django_ses_verifies_through_our_hooks_and_each_signal_has_one_receiver(client, sns, sent):
    from sends.engagement import receivers, webhook

    calls = []
    real = webhook.verify_sns_message
    with mock.patch.object(webhook, "verify_sns_message", side_effect=lambda n: calls.append(n) or real(n)):
        assert post(client, sns.notification(ses_event(sent, "Open"))).status_code == 200
    assert len(calls) == 1  # django-ses called verify_event_message, which verified once
    for signal in receivers.SES_SIGNALS:
        assert signal._live_receivers(sender=None)[0] == [receivers.receive_ses_notification], signal


def _statements(queries):
    """Each captured query, as the list of statements it sent (a batch sends several at once)."""
    return [[part.strip().split(" (", 1)[0][:60] for part in query["sql"].split("; ")] for query in queries]


@pytest.mark.postgres  # one round trip for several statements needs psycopg's client-side binding
def test_one_notification_is_four_round_trips_and_one_commit(client, sns, sent, query_count):
    """The webhook's hot path (issue 13): the notification stored already processed in the
    round trip that reads and locks the send with whether its contact exists, then every write
    in one batch: the send, the rollups' lock and upsert, the event. Inside the test's
    transaction the block shows as a savepoint; outside any (as in production) BEGIN and COMMIT
    ride on the two batches and no health check precedes them: two round trips in all
    (tests/sends/test_webhook_transactions.py)."""
    from contacts.models import Event
    from sends.models import MetricRollup

    post(client, sns.notification(ses_event(sent, "Delivery", 0.5)))  # the certificate is fetched and cached
    with query_count() as queries:
        assert post(client, sns.notification(ses_event(sent, "Open", 1))).status_code == 200
    statements = _statements(queries.captured_queries)
    assert len(statements) == 4, statements
    assert statements[0][0].startswith(("SAVEPOINT", "BEGIN"))
    assert [part[:35] for part in statements[1]] == [
        'INSERT INTO "sends_sesnotification"',
        'SELECT "sends_send"."id", "sends_se',
    ], statements[1]
    assert "EXISTS" in queries.captured_queries[1]["sql"] and "FOR UPDATE" in queries.captured_queries[1]["sql"]
    assert [part[:35] for part in statements[2]] == [
        'UPDATE "sends_send" SET "opened_at"',
        "SELECT pg_advisory_xact_lock_shared",
        'INSERT INTO "metrics_metricrollup"',
        'INSERT INTO "contacts_event"',
    ], statements[2]
    assert statements[3][0].startswith(("RELEASE SAVEPOINT", "COMMIT"))
    sent.refresh_from_db()
    assert sent.opened_at == datetime(2026, 11, 1, 12, 1, tzinfo=UTC)
    assert list(Event.objects.filter(send_id=sent.id).values_list("name", flat=True).order_by("name")) == [
        "email.delivered",
        "email.opened",
    ]
    assert sum(MetricRollup.objects.values_list("opened", flat=True)) == 2  # all, template
    assert SesNotification.objects.filter(processed_at__isnull=False).count() == 2


@pytest.mark.postgres  # counts round trips: several statements in one needs psycopg's client-side binding
def test_a_repeated_open_is_one_write_and_a_duplicate_two_queries(client, sns, sent, query_count):
    from contacts.models import Event

    post(client, sns.notification(ses_event(sent, "Open", 1)))
    with query_count() as queries:
        post(client, sns.notification(ses_event(sent, "Open", 2)))  # every open is an event; nothing else changes
    statements = _statements(queries.captured_queries)
    assert len(statements) == 4 and [s[:26] for s in statements[2]] == ['INSERT INTO "contacts_even'], statements
    again = sns.notification(ses_event(sent, "Open", 3))
    post(client, again)
    with query_count() as queries:
        assert post(client, again).status_code == 200  # SNS redelivers
    statements = _statements(queries.captured_queries)
    # the insert that finds the key taken (with the send's read), in its transaction (here a
    # savepoint); then, in another, the stored row (processed): nothing is written
    assert [s[0].split(' "')[0] for s in statements] == [
        "SAVEPOINT",
        "INSERT INTO",
        "RELEASE SAVEPOINT",
        "SAVEPOINT",
        "SELECT",
        "RELEASE SAVEPOINT",
    ], statements
    assert statements[4][0].startswith('SELECT "sends_sesnotification"'), statements
    assert Event.objects.filter(send_id=sent.id, name="email.opened").count() == 3


def test_the_body_is_read_and_checked_once(client, sns, sent):
    """The edge check's parse (the notification, then the SES event in its Message) is the one
    the receiver applies: each is checked once, not again by the receiver."""
    from kraiter import untrusted

    checked = []
    real = untrusted.check_value
    with mock.patch.object(untrusted, "check_value", side_effect=lambda v, **k: checked.append(v) or real(v, **k)):
        assert post(client, sns.notification(ses_event(sent, "Open", 1))).status_code == 200
    assert [sorted(value)[:2] for value in checked] == [["Message", "MessageId"], ["eventType", "mail"]]
    sent.refresh_from_db()
    assert sent.opened_at is not None

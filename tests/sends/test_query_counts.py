"""What one send costs the database: queueing it (POST /api/send) and delivering it. Query counts
are pinned here (timings are in BENCHMARKS.md): a query that creeps back into the send path
fails a test, not only a benchmark. Each count is for PostgreSQL, inside the test's transaction
(so `atomic()` blocks show as SAVEPOINT and RELEASE, not BEGIN and COMMIT)."""

import boto3
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from domains.models import Domain, SenderSettings
from sends import delivery
from sends.models import Send
from sends.services import send_transactional
from tests.factories import TemplateFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def sender(organisation):
    """The organisation sends from its own verified domain (its sender settings), as in production."""
    domain = Domain.objects.create(
        organisation=organisation, name="acme.example", status=Domain.Status.VERIFIED, sending_enabled=True
    )
    SenderSettings.objects.create(organisation=organisation, from_name="Acme", from_email="hello@acme.example")
    TemplateFactory(organisation=organisation, slug="receipt", subject="Receipt {{ n }}", html="<p>Hi {{ n }}</p>")
    return domain


@pytest.fixture
def ses_domain(ses):
    """Moto's SES, with acme.example verified there too."""
    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="acme.example")
    return ses


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split(" ", 1)[0] for query in captured.captured_queries]


def test_post_api_send_to_a_new_address(api, sender, django_capture_on_commit_callbacks):
    """The API key, the template with the sender settings and the From domain (one query), the
    contact looked up, created (its remembered opt-out consumed in the same statement, inside a
    savepoint), the send with its content: 6 statements and the savepoints'."""
    api.get("/api/templates")  # the key's first use records it (at most once a minute)
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks() as enqueued:
        response = api.post("/api/send", {"to": "new@example.com", "templateId": "receipt", "variables": {"n": 1}})
    assert response.status_code == 201, response.content
    assert len(enqueued) == 1  # the delivery task, after commit
    assert statements(captured) == [
        "SELECT",  # the API key and its organisation
        "SELECT",  # the template, the sender settings and the From domain
        "SAVEPOINT",  # send_transactional's transaction
        "SELECT",  # the contact by address
        "SAVEPOINT",
        "DELETE",  # a remembered opt-out of the address, consumed
        "INSERT",  # the contact
        "RELEASE",
        "WITH",  # the send and its content, one INSERT each in one statement
        "RELEASE",
    ], [query["sql"][:120] for query in captured.captured_queries]
    content = Send.objects.get(pk=response.json()["id"]).content
    assert content.from_header == "Acme <hello@acme.example>"


def test_queueing_to_a_known_contact(organisation, sender):
    Contact.objects.create(organisation=organisation, email="known@example.com")
    with CaptureQueriesContext(connection) as captured:
        send = send_transactional(
            organisation=organisation, to="Known@Example.com", template_id="receipt", variables={}
        )
    assert send.status == Send.Status.QUEUED
    assert statements(captured) == ["SELECT", "SAVEPOINT", "SELECT", "WITH", "RELEASE"]


def test_delivering_one_send(organisation, sender, ses_domain, django_capture_on_commit_callbacks):
    ses = ses_domain
    """The claim reads the send, its organisation, content, contact and From domain in the
    statement that claims it; then SES, then the `sent` fact (sends.engagement's transaction)."""
    with django_capture_on_commit_callbacks():
        send = send_transactional(organisation=organisation, to="bob@example.com", template_id="receipt", variables={})
    with CaptureQueriesContext(connection) as captured:
        result = delivery.deliver_send(send.id)
    assert result.outcome == "sent"
    assert len(ses.messages()) == 1
    claim, *recording = statements(captured)
    assert claim == "WITH"  # UPDATE ... RETURNING, joined: one round trip
    # the `sent` fact (sends.engagement.pipeline): the send locked, then its writes in one batch
    assert recording == ["SAVEPOINT", "SELECT", "UPDATE", "RELEASE"], [
        query["sql"][:120] for query in captured.captured_queries
    ]
    assert not any('FROM "domains_domain"' in query["sql"] for query in captured.captured_queries[1:])


def test_a_from_header_the_claim_cannot_read_still_has_its_domain_checked(organisation, sender, ses):
    """The claim joins the domain by the text after the From header's last @; a header whose
    address parses otherwise (a comment after it) is looked up on its own, and a failed domain
    still stops the email."""
    send = send_transactional(organisation=organisation, to="bob@example.com", template_id="receipt", variables={})
    Send.objects.filter(pk=send.pk).update(status=Send.Status.QUEUED)
    send.content.from_header = "hello@acme.example (Acme)"
    send.content.save()
    Domain.objects.filter(pk=sender.pk).update(status=Domain.Status.FAILED, failure_reason="DKIM records gone")
    with CaptureQueriesContext(connection) as captured:
        result = delivery.deliver_send(send.id)
    assert result.outcome == "rejected"
    assert any('FROM "domains_domain"' in query["sql"] for query in captured.captured_queries[1:])
    send.refresh_from_db()
    assert "acme.example may not send (failed: DKIM records gone)" in send.rejection_reason
    assert ses.calls == 0


def test_the_claim_sees_a_domain_that_failed_after_queueing(organisation, sender, ses):
    send = send_transactional(organisation=organisation, to="bob@example.com", template_id="receipt", variables={})
    Domain.objects.filter(pk=sender.pk).update(status=Domain.Status.FAILED, failure_reason="DKIM records gone")
    assert delivery.deliver_send(send.id).outcome == "rejected"
    send.refresh_from_db()
    assert send.status == Send.Status.REJECTED and "acme.example may not send" in send.rejection_reason
    assert ses.calls == 0


@pytest.mark.django_db(transaction=True)
def test_outside_a_test_transaction_begin_and_commit_ride_on_the_sends_statements(api, sender):
    """As in production (no test transaction around the request): the contact's read carries the
    transaction's BEGIN and the send's insert its COMMIT; psycopg sends neither on its own."""
    from unittest import mock

    from tests.round_trips import RoundTrips

    api.get("/api/templates")
    sent = []
    with mock.patch("sends.tasks.deliver.delay") as enqueued:
        api.post("/api/send", {"to": "known@example.com", "templateId": "receipt", "variables": {"n": 0}})
        enqueued.reset_mock()
        with RoundTrips() as trips:
            for n, address in enumerate(["known@example.com", "new@example.com"]):
                response = api.post("/api/send", {"to": address, "templateId": "receipt", "variables": {"n": n}})
                assert response.status_code == 201, response.content
                sent.append(response.json()["id"])
    assert trips.alone == [], trips.alone
    together = [sql for sql in trips.statements if sql.startswith("BEGIN; ") or sql.endswith("; COMMIT")]
    assert len(together) == 4, trips.statements  # each send: BEGIN on its contact's read, COMMIT on its insert
    assert [call.args[0] for call in enqueued.call_args_list] == sent  # each once its transaction committed
    assert list(Send.objects.filter(id__in=sent).values_list("email", flat=True).order_by("id")) == [
        "known@example.com",
        "new@example.com",
    ]
    assert Contact.objects.filter(email="new@example.com").exists()
    assert connection.get_autocommit() and connection.connection.autocommit

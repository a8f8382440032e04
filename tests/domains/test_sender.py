"""Who an email is from (docs/api.md 14): the send's `from`/`replyTo`, the template's, the
organisation's, each on a verified domain of its own, checked against delivered messages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from domains.models import Domain
from domains.services import domains_check_due, sender_settings_update
from kraiter.errors import Forbidden
from sends.delivery import deliver_send
from sends.models import Send
from tests.factories import TemplateFactory

pytestmark = pytest.mark.usefixtures("ses_identities")


@pytest.fixture
def verified(api, ses_identities):
    """Acme's verified domain acme.example, and a template."""
    TemplateFactory(organisation=api.organisation, slug="receipt", subject="Receipt")
    domain_id = api.post("/api/domains", {"domain": "acme.example"}).json()["id"]
    ses_identities.verify("acme.example")
    assert api.post(f"/api/domains/{domain_id}/verify").json()["status"] == "verified"
    return Domain.objects.get(pk=domain_id)


def send(api, capture, **body):
    with capture(execute=True):
        return api.post("/api/send", {"to": "bob@example.com", "templateId": "receipt", **body})


def test_a_send_from_its_own_verified_domain_carries_it_everywhere(
    api, verified, ses, settings, django_capture_on_commit_callbacks
):
    settings.AWS_SES_CONFIGURATION_SET = "kraiter-events"
    response = send(
        api,
        django_capture_on_commit_callbacks,
        **{"from": "Acme Billing <billing@acme.example>", "replyTo": "help@acme.example"},
    )
    assert response.status_code == 201, response.content
    [message] = ses.messages()
    assert message["From"] == "Acme Billing <billing@acme.example>"
    assert message["Reply-To"] == "help@acme.example"
    assert message["Message-ID"] == f"<{response.json()['id']}@acme.example>"
    tags = dict(tag.strip().split("=") for tag in message["X-SES-MESSAGE-TAGS"].split(","))
    assert tags["domain"] == "acme.example" and tags["organisation"] == api.organisation.id


def test_the_template_overrides_the_organisation_and_the_send_overrides_both(
    api, verified, ses, django_capture_on_commit_callbacks
):
    sender_settings_update(
        organisation=api.organisation, from_name="Acme", from_email="hello@acme.example", reply_to="team@acme.example"
    )
    TemplateFactory(organisation=api.organisation, slug="invoice", subject="Invoice")
    api.put(
        "/api/templates/invoice",
        {"name": "Invoice", "subject": "Invoice", "html": "<p>x</p>", "fromName": "Acme Accounts",
         "fromEmail": "accounts@acme.example", "replyTo": "accounts-help@acme.example"},
    )  # fmt: skip
    assert api.get("/api/templates/invoice").json()["fromEmail"] == "accounts@acme.example"
    send(api, django_capture_on_commit_callbacks)
    send(api, django_capture_on_commit_callbacks, templateId="invoice")
    send(api, django_capture_on_commit_callbacks, templateId="invoice", **{"from": "ceo@acme.example"})
    froms = [(m["From"], m["Reply-To"]) for m in ses.messages()]
    assert froms == [
        ("Acme <hello@acme.example>", "team@acme.example"),
        ("Acme Accounts <accounts@acme.example>", "accounts-help@acme.example"),
        ("Acme Accounts <ceo@acme.example>", "accounts-help@acme.example"),  # the name is the template's
    ]


@pytest.mark.parametrize(
    ("sender", "says"),
    [
        ("x@unknown.example", "not on a domain of this organisation"),
        ("x@globex.example", "not on a domain of this organisation"),  # Globex's, verified
        ("x@pending.acme.example", "may not send (pending"),
    ],
)
def test_a_send_from_a_domain_it_may_not_send_from_is_forbidden(
    api, other_api, verified, ses, ses_identities, sender, says, django_capture_on_commit_callbacks
):
    other_id = other_api.post("/api/domains", {"domain": "globex.example"}).json()["id"]
    ses_identities.verify("globex.example")
    other_api.post(f"/api/domains/{other_id}/verify")
    api.post("/api/domains", {"domain": "pending.acme.example"})
    response = send(api, django_capture_on_commit_callbacks, **{"from": sender})
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "FORBIDDEN" and says in response.json()["error"]["message"]
    assert Send.objects.count() == 0 and ses.messages() == []


def test_a_template_from_an_unverified_domain_is_forbidden_too(api, verified, django_capture_on_commit_callbacks):
    TemplateFactory(organisation=api.organisation, slug="spoof", from_email="ceo@bank.example")
    response = send(api, django_capture_on_commit_callbacks, templateId="spoof")
    assert response.status_code == 403 and "bank.example" in response.json()["error"]["message"]


@pytest.mark.parametrize("malformed", ["not an address", "A <a@acme.example", "a@acme.example\r\nBcc: x@y.z", 5])
def test_a_malformed_from_is_a_400(api, verified, malformed, django_capture_on_commit_callbacks):
    response = send(api, django_capture_on_commit_callbacks, **{"from": malformed})
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_operator_default_is_used_only_where_allowed(
    api, ses, settings, organisation, django_capture_on_commit_callbacks
):
    TemplateFactory(organisation=organisation, slug="receipt")
    settings.ALLOW_DEFAULT_SENDER = False
    refused = send(api, django_capture_on_commit_callbacks)
    assert refused.status_code == 403 and "POST /api/domains" in refused.json()["error"]["message"]
    settings.ALLOW_DEFAULT_SENDER = True
    allowed = send(api, django_capture_on_commit_callbacks)
    assert allowed.status_code == 201
    [message] = ses.messages()
    assert message["From"] == "Acme <no-reply@example.com>"  # DEFAULT_FROM_EMAIL (the ses fixture's)
    assert message["Message-ID"] == f"<{allowed.json()['id']}@example.com>"


def test_sender_settings_need_a_verified_domain(api, verified):
    with pytest.raises(Forbidden):
        sender_settings_update(organisation=api.organisation, from_name="", from_email="a@other.example", reply_to="")
    saved = sender_settings_update(
        organisation=api.organisation, from_name="", from_email="a@acme.example", reply_to=""
    )
    assert saved.from_email == "a@acme.example"


def test_a_verified_domain_that_ses_later_fails_stops_sending_and_says_why(
    api, verified, ses, ses_identities, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet delivered
        queued = api.post("/api/send", {"to": "bob@example.com", "templateId": "receipt", "from": "a@acme.example"})
    ses_identities.fail("acme.example", "HOST_NOT_FOUND")
    clock.advance(timedelta(hours=7))  # the next check of a verified domain is due
    assert domains_check_due() == 1
    verified.refresh_from_db()
    assert (verified.status, verified.sending_enabled) == ("failed", False)
    assert deliver_send(queued.json()["id"]).outcome == "rejected"
    rejected = Send.objects.get(pk=queued.json()["id"])
    assert "acme.example may not send (failed: SES found no DKIM records" in rejected.rejection_reason
    assert ses.messages() == []
    again = send(api, django_capture_on_commit_callbacks, **{"from": "a@acme.example"})
    assert again.status_code == 403 and "found no DKIM records" in again.json()["error"]["message"]


def test_pending_domains_are_checked_with_backoff_until_ses_verifies_them(api, ses_identities, clock):
    domain_id = api.post("/api/domains", {"domain": "acme.example"}).json()["id"]
    assert domains_check_due() == 0  # not yet due
    gaps = []
    for _ in range(3):
        due = Domain.objects.get(pk=domain_id).next_check_at
        clock.advance(due - timezone.now() + timedelta(seconds=1))
        assert domains_check_due() == 1
        gaps.append(Domain.objects.get(pk=domain_id).next_check_at - timezone.now())
    assert gaps[0] < gaps[1] < gaps[2]  # further apart each time
    ses_identities.verify("acme.example")
    clock.advance(gaps[2] + timedelta(seconds=1))
    assert domains_check_due() == 1
    assert api.get(f"/api/domains/{domain_id}").json()["status"] == "verified"


def test_a_sequence_email_from_a_domain_it_may_not_use_is_recorded_rejected(api, verified):
    from scheduling.dispatcher import dispatch_due_scheduled_sends

    TemplateFactory(organisation=api.organisation, slug="drip", from_email="x@unverified.example")
    api.put("/api/sequences/s", {"name": "S", "definition": "steps: [{send: drip}]"})
    api.post("/api/sequences/s/activate")
    api.post("/api/sequences/s/enrol", {"email": "bob@example.com"})
    assert dispatch_due_scheduled_sends() == 1
    [rejected] = Send.objects.filter(source="sequence")
    assert rejected.status == "rejected" and "unverified.example" in rejected.rejection_reason


def test_a_long_non_ascii_sender_name_is_stored_and_delivered(api, verified, ses, django_capture_on_commit_callbacks):
    name = "Ärger-Ünterstützung " * 10  # 200 characters that grow several times once encoded
    response = send(api, django_capture_on_commit_callbacks, **{"from": f"{name} <a@acme.example>"})
    assert response.status_code == 201, response.content
    [message] = ses.messages()
    assert message["From"].addresses[0].display_name == name.strip()


def test_the_operator_default_is_judged_when_a_send_is_made_not_again_at_delivery(
    api, ses, settings, organisation, django_capture_on_commit_callbacks
):
    # A worker configured apart from the web tier (say without ALLOW_DEFAULT_SENDER) still
    # delivers what the web tier accepted; only domains, which can fail later, are checked again.
    TemplateFactory(organisation=organisation, slug="receipt")
    with django_capture_on_commit_callbacks(execute=False):
        queued = api.post("/api/send", {"to": "bob@example.com", "templateId": "receipt"}).json()
    settings.ALLOW_DEFAULT_SENDER = False
    assert deliver_send(queued["id"]).outcome == "sent"
    assert ses.messages()[0]["From"] == "Acme <no-reply@example.com>"


def test_a_batch_refuses_a_forbidden_sender_on_every_send_and_looks_it_up_once(api, django_assert_num_queries):
    """SenderBook remembers a resolution (the dispatcher's batch resolves each template once)."""
    from domains.sender import SenderBook, SenderChoice

    book, layers = SenderBook(), [SenderChoice(email="news@unverified.example")]
    with django_assert_num_queries(2):  # the organisation's sender settings, the domain
        for _ in range(3):
            with pytest.raises(Forbidden, match="not on a domain of this organisation"):
                book.resolve(organisation=api.organisation, layers=layers)

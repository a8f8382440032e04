"""POST /api/send (docs/api.md 5; the seed 001 it follows is in docs/seeds/)."""

import pytest

from contacts.models import Contact
from kraiter.links import read_click_token
from sends.models import Send, SendContent
from tests.factories import ContactFactory, TemplateFactory
from tests.openapi import assert_matches_schema


@pytest.fixture
def template(organisation):
    return TemplateFactory(
        organisation=organisation,
        slug="password-reset",
        name="Password reset",
        subject="Reset your password, {{ firstName }}",
        html='<p>Hi {{ firstName }}, <a href="{{ resetUrl }}">reset</a> within {{ expiresIn }}.</p>'
        '<p><a href="{{ unsubscribeUrl }}">unsubscribe</a></p>',
    )


def send(api, **body):
    payload = {"to": "alice@example.com", "templateId": "password-reset", **body}
    return api.post("/api/send", {k: v for k, v in payload.items() if v is not None})


def test_send_returns_the_queued_send_and_creates_the_contact(api, template):
    response = send(
        api, variables={"firstName": "Alice", "resetUrl": "https://app.example.com/r?t=abc", "expiresIn": "24 hours"}
    )
    assert response.status_code == 201
    assert_matches_schema(response, "POST", "/api/send")
    body = response.json()
    assert set(body) == {"id", "to", "templateId", "status", "createdAt"}
    assert (body["to"], body["templateId"], body["status"]) == ("alice@example.com", "password-reset", "queued")
    stored = Send.objects.get(pk=body["id"])
    assert stored.subject == "Reset your password, Alice"
    assert (stored.source, stored.step, stored.template_name) == ("transactional", None, "Password reset")
    contact = Contact.objects.get(organisation=api.organisation)
    assert stored.contact_id == contact.id and contact.email == "alice@example.com"
    content = SendContent.objects.get(send=stored)
    assert "24 hours" in content.html and "/unsubscribe/" in content.html
    click_token = content.html.split("/t/c/")[1].split('"')[0]
    assert read_click_token(click_token) == (stored.id, "https://app.example.com/r?t=abc")  # tracked link
    assert content.text.startswith("Hi Alice, reset (https://app.example.com/r?t=abc)")


def test_an_existing_contact_is_reused_whatever_the_case(api, template):
    existing = ContactFactory(organisation=api.organisation, email="Alice@example.com", properties={"firstName": "Al"})
    response = send(api, to="ALICE@EXAMPLE.COM")
    assert response.status_code == 201
    stored = Send.objects.get(pk=response.json()["id"])
    assert stored.contact_id == existing.id
    assert stored.subject == "Reset your password, Al"  # falls back to the contact's property
    assert Contact.objects.count() == 1


def test_missing_variables_render_empty(api, template):
    response = send(api)
    assert response.status_code == 201
    assert Send.objects.get(pk=response.json()["id"]).subject == "Reset your password,"


def test_each_send_has_its_own_unsubscribe_link(api, template):
    first, second = send(api).json()["id"], send(api).json()["id"]
    links = [SendContent.objects.get(send_id=i).html.split("/unsubscribe/")[1].split('"')[0] for i in (first, second)]
    assert links[0] != links[1]


def test_unknown_template_is_404_and_writes_nothing(api):
    response = send(api, templateId="nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not Contact.objects.exists() and not Send.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": None}, "to"),
        ({"templateId": None}, "templateId"),
        ({"to": "not-an-email"}, "to"),
        ({"to": "a@b.com\r\nBcc: victim@x.com"}, "to"),
        ({"to": "a@b.com, c@d.com"}, "to"),
        ({"to": ["a@b.com"]}, "to"),
        ({"templateId": "Bad Id"}, "templateId"),
        ({"variables": "firstName=Al"}, "variables"),
        ({"variables": ["Al"]}, "variables"),
        ({"ignoreUnsubscribe": "true"}, "ignoreUnsubscribe"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(api, template, body, field):
    response = send(api, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]
    assert not Send.objects.exists() and not Contact.objects.exists()


def test_a_missing_field_names_it(api, template):
    response = api.post("/api/send", {"templateId": "password-reset"})
    assert response.json()["error"]["message"] == "The 'to' field is required."


@pytest.mark.parametrize(
    ("state", "reason"),
    [({"unsubscribed": True}, "unsubscribed"), ({"suppressed": True, "suppression_reason": "bounced"}, "bounced")],
)
def test_an_opted_out_contact_is_422_with_a_recorded_rejected_send(api, template, state, reason):
    ContactFactory(organisation=api.organisation, email="alice@example.com", **state)
    response = send(api)
    assert response.status_code == 422
    assert_matches_schema(response, "POST", "/api/send")
    error = response.json()["error"]
    assert error["code"] == "UNPROCESSABLE_ENTITY"
    rejected = Send.objects.get()
    assert rejected.status == "rejected" and rejected.id in error["message"] and reason in rejected.rejection_reason
    assert not SendContent.objects.exists()
    listed = api.get("/api/sends?status=rejected").json()["data"]
    assert [s["id"] for s in listed] == [rejected.id]


def test_ignore_unsubscribe_sends_anyway(api, template):
    ContactFactory(
        organisation=api.organisation, email="alice@example.com", suppressed=True, suppression_reason="manual"
    )
    response = send(api, ignoreUnsubscribe=True)
    assert response.status_code == 201
    assert Send.objects.get().status == "queued"


def test_a_template_that_hits_a_sandbox_limit_is_422_and_writes_nothing(api):
    TemplateFactory(
        organisation=api.organisation, slug="loops", html="{% for a in xs %}{% for b in xs %}.{% endfor %}{% endfor %}"
    )
    response = send(api, templateId="loops", variables={"xs": list(range(500))})
    assert response.status_code == 422
    assert "loop" in response.json()["error"]["message"]
    assert not Send.objects.exists() and not Contact.objects.exists()


def test_a_paused_organisation_cannot_send(api, template):
    api.organisation.sending_status = "paused"
    api.organisation.save()
    response = send(api)
    assert response.status_code == 422
    assert "paused" in response.json()["error"]["message"]


def test_another_organisations_template_is_404(api, other_api, template):
    assert send(other_api).status_code == 404


def test_unicode_everywhere(api):
    TemplateFactory(
        organisation=api.organisation, slug="uni", subject="Grüße, {{ name }} 🎉", html="<p>{{ name }} — 東京</p>"
    )
    response = send(api, templateId="uni", to="zoë@bücher.de".replace("zoë", "zoe"), variables={"name": "Zoë"})
    assert response.status_code == 201
    stored = Send.objects.get()
    assert stored.subject == "Grüße, Zoë 🎉" and stored.email == "zoe@bücher.de"
    assert "Zoë — 東京" in SendContent.objects.get().html


def test_the_guides_template_spelling_is_accepted(api):
    TemplateFactory(organisation=api.organisation, slug="welcome")
    response = api.post("/api/send", {"to": "gus@example.com", "template": "welcome"})
    assert response.status_code == 201 and response.json()["templateId"] == "welcome"
    clash = api.post("/api/send", {"to": "gus@example.com", "template": "welcome", "templateId": "other"})
    assert clash.status_code == 400

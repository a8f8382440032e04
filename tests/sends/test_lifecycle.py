"""A send's whole life through the real endpoints (issue 5's "done when")."""

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from sends.models import Send, SendContent
from tests.factories import TemplateFactory
from tests.sends import ses_examples


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def template(organisation):
    return TemplateFactory(
        organisation=organisation,
        slug="welcome",
        html='<html><body><a href="https://example.com/start">Start</a></body></html>',
    )


def send_mail(api, django_capture_on_commit_callbacks, to="life@example.com"):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/send", {"to": to, "templateId": "welcome"})
    assert response.status_code == 201, response.content
    return Send.objects.get(pk=response.json()["id"])


def ses_notify(client, sns, send, kind, **extra):
    record = ses_examples.event(
        kind, message_id=send.ses_message_id, send_id=send.id, recipient=send.email, at=now(), **extra
    )
    response = client.post("/webhooks/ses/", data=json.dumps(sns.notification(record)), content_type="text/plain")
    assert response.status_code == 200


def test_sent_delivered_opened_clicked(api, client, ses, sns, template, django_capture_on_commit_callbacks):
    send = send_mail(api, django_capture_on_commit_callbacks)
    assert api.get(f"/api/sends/{send.id}").json()["status"] == "sent"
    ses_notify(client, sns, send, "Delivery")
    html = SendContent.objects.get(send=send).html
    pixel = html.split('<img src="')[1].split('"')[0]
    link = html.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert client.get(urlsplit(pixel).path).status_code == 200
    assert client.get(urlsplit(link).path)["Location"] == "https://example.com/start"
    body = api.get(f"/api/sends/{send.id}").json()
    assert body["status"] == "delivered"
    assert all(body[f] for f in ("sentAt", "deliveredAt", "openedAt", "clickedAt"))
    assert body["bouncedAt"] is None and body["complainedAt"] is None

    staff = get_user_model().objects.create_superuser("support", "s@example.com", "pw")
    client.force_login(staff)
    page = client.get(f"/admin/sends/send/{send.id}/change/").content.decode()
    assert "Delivered" in page and send.ses_message_id in page


def test_bounced_then_suppressed_then_refused(api, client, ses, sns, template, django_capture_on_commit_callbacks):
    send = send_mail(api, django_capture_on_commit_callbacks)
    ses_notify(client, sns, send, "Bounce", bounce_type="Permanent")
    assert api.get(f"/api/sends/{send.id}").json()["status"] == "bounced"
    contact = api.get(f"/api/contacts/{send.contact_id}").json()
    assert (contact["suppressed"], contact["suppressionReason"]) == (True, "bounced")
    assert [c["id"] for c in api.get("/api/contacts?suppressed=true").json()["data"]] == [send.contact_id]
    later = api.post("/api/send", {"to": "life@example.com", "templateId": "welcome"})
    assert later.status_code == 422
    assert len(ses.messages()) == 1
    # Staff lift the suppression through the API; mail flows again.
    api.patch(f"/api/contacts/{send.contact_id}", {"suppressed": False})
    assert api.post("/api/send", {"to": "life@example.com", "templateId": "welcome"}).status_code == 201

"""Looking is not touching: support opening a send, a template or a contact in the admin records
no open, no click and no unsubscribe, even when a browser fetches everything the page points to."""

import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from contacts.models import Contact, Event
from sends.models import MetricRollup, Send, SendContent
from tests.factories import TemplateFactory

# Every URL a browser would load or follow: attributes of the page, and of the email inside srcdoc.
_URL_ATTRIBUTE = re.compile(r'(?:src|href|action)="([^"]+)"')


@pytest.fixture
def staff(organisation):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("support", "s@example.com", "pw"))
    return client


@pytest.fixture
def delivered_send(api, organisation, settings):
    """A real send with our pixel, a tracked link and an unsubscribe link in its stored HTML."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    TemplateFactory(
        organisation=organisation,
        slug="password-reset",
        subject="Reset your password",
        html='<p>Hi <a href="https://app.example.com/r/abc">reset it</a>, <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>',
    )
    response = api.post("/api/send", {"to": "alice@example.com", "templateId": "password-reset"})
    assert response.status_code in (200, 201, 202), response.content
    send = Send.objects.get(pk=response.json()["id"])
    stored = SendContent.objects.get(send_id=send.id).html
    assert "/t/o/" in stored and "/t/c/" in stored and "/unsubscribe/" in stored  # the given
    return send


def _state(send: Send) -> tuple:
    send.refresh_from_db()
    rollups = sorted(MetricRollup.objects.values_list("scope", "bucket", "opened", "clicked", "unsubscribed"))
    contact = Contact.objects.values_list("unsubscribed", "suppressed").get(pk=send.contact_id)
    return send.status, send.opened_at, send.clicked_at, Event.objects.count(), rollups, contact


def _fetch_everything(client: Client, page: str) -> list[str]:
    """GETs every local URL on the page and in its embedded email, as a browser showing it would."""
    content = client.get(page).content.decode()
    urls = _URL_ATTRIBUTE.findall(content)
    for srcdoc in re.findall(r'srcdoc="([^"]*)"', content):
        urls += _URL_ATTRIBUTE.findall(html.unescape(srcdoc))
    fetched = []
    for url in (html.unescape(u) for u in urls):
        path = url.removeprefix("http://127.0.0.1:8000")
        if path.startswith("/") and not path.startswith("//"):
            client.get(path)
            fetched.append(path)
    return fetched


def test_viewing_a_send_records_no_open_click_or_unsubscribe(staff, delivered_send):
    before = _state(delivered_send)
    fetched = _fetch_everything(staff, f"/admin/sends/send/{delivered_send.id}/change/")
    assert _state(delivered_send) == before
    assert not [path for path in fetched if path.startswith(("/t/", "/unsubscribe/"))]
    assert delivered_send.opened_at is None and delivered_send.clicked_at is None


def test_the_send_page_names_the_links_the_email_held(staff, delivered_send):
    page = staff.get(f"/admin/sends/send/{delivered_send.id}/change/").content.decode()
    assert "https://app.example.com/r/abc" in page


def test_viewing_the_contact_and_the_template_changes_nothing(staff, delivered_send):
    before = _state(delivered_send)
    from templates_app.models import Template

    _fetch_everything(staff, f"/admin/contacts/contact/{delivered_send.contact_id}/change/")
    _fetch_everything(staff, f"/admin/templates_app/template/{Template.objects.get().pk}/change/")
    _fetch_everything(staff, "/admin/")
    assert _state(delivered_send) == before

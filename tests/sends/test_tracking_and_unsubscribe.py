"""Our open pixel, click redirect and one-click unsubscribe (docs/api.md 9)."""

from unittest import mock
from urllib.parse import urlsplit

import pytest

from contacts.models import Contact
from kraiter.links import click_url, open_pixel_url, unsubscribe_url
from scheduling.models import ScheduledSend
from sends.engagement.tracking import PIXEL
from sends.models import SendContent
from sends.services import send_transactional
from tests.factories import ContactFactory, SendFactory, TemplateFactory

LINKS = (
    '<html><body><p><a href="https://example.com/pricing?a=1&amp;b=2">Pricing</a> '
    "<a href='http://example.com/plain'>Plain</a> <a href=\"mailto:help@example.com\">Mail</a> "
    '<a href="tel:+441234">Call</a> <a href="#top">Top</a> <a href="{{ unsubscribeUrl }}">Unsubscribe</a></p></body></html>'
)


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def send(organisation):
    return SendFactory(organisation=organisation, status="delivered")


def test_the_open_pixel_records_the_first_open(client, send):
    url = path_of(open_pixel_url(send.id))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif" and response.content == PIXEL
    send.refresh_from_db()
    first = send.opened_at
    assert first is not None and send.status == "delivered"
    client.get(url)
    send.refresh_from_db()
    assert send.opened_at == first


def test_a_click_redirects_and_records_click_and_open(client, send):
    response = client.get(path_of(click_url(send.id, "https://example.com/docs?x=1")))
    assert response.status_code == 302 and response["Location"] == "https://example.com/docs?x=1"
    send.refresh_from_db()
    assert send.clicked_at is not None and send.opened_at == send.clicked_at


@pytest.mark.parametrize("kind", ["open", "click"])
def test_tampered_tokens_are_404_and_never_redirect(client, send, kind):
    url = path_of(open_pixel_url(send.id) if kind == "open" else click_url(send.id, "https://example.com/"))
    tampered = url[:-6] + ("x" if url[-6] != "x" else "y") + url[-5:]
    response = client.get(tampered)
    assert response.status_code == 404 and "Location" not in response
    forged = path_of(click_url(send.id, "https://example.com/")).replace("/t/c/", "/t/c/A")
    assert client.get(forged).status_code == 404
    send.refresh_from_db()
    assert send.opened_at is None and send.clicked_at is None


def test_links_are_rewritten_at_render_time_except_mail_phone_anchors_and_unsubscribe(organisation):
    TemplateFactory(organisation=organisation, slug="links", html=LINKS)
    created = send_transactional(organisation=organisation, to="lin@example.com", template_id="links", variables={})
    html = SendContent.objects.get(send=created).html
    assert html.count("/t/c/") == 2
    assert 'href="mailto:help@example.com"' in html and 'href="tel:+441234"' in html and 'href="#top"' in html
    assert f'href="{unsubscribe_url(created.id)}"' in html
    assert html.index("/t/o/") < html.index("</body>")
    text = SendContent.objects.get(send=created).text
    assert "https://example.com/pricing?a=1&b=2" in text  # the text part keeps the real links


def test_a_rewritten_link_leads_to_its_original_destination(client, organisation):
    TemplateFactory(organisation=organisation, slug="links", html=LINKS)
    created = send_transactional(organisation=organisation, to="lin@example.com", template_id="links", variables={})
    html = SendContent.objects.get(send=created).html
    first = html.split('href="')[1].split('"')[0].replace("&amp;", "&")
    response = client.get(path_of(first))
    assert response["Location"] == "https://example.com/pricing?a=1&b=2"


def test_tracking_can_be_turned_off(organisation, settings):
    settings.TRACKING_ENABLED = False
    TemplateFactory(organisation=organisation, slug="links", html=LINKS)
    created = send_transactional(organisation=organisation, to="lin@example.com", template_id="links", variables={})
    html = SendContent.objects.get(send=created).html
    assert "/t/c/" not in html and "/t/o/" not in html
    assert 'href="https://example.com/pricing?a=1&amp;b=2"' in html


def test_the_unsubscribe_page_asks_first_and_get_changes_nothing(client, send):
    url = path_of(unsubscribe_url(send.id))
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<form" in page and 'method="post"' in page and send.email in page
    assert Contact.objects.get(pk=send.contact_id).unsubscribed is False


def test_one_click_post_unsubscribes_without_csrf_or_login_and_cancels_scheduled_sends(send, api):
    from django.test import Client

    contact = send.contact
    TemplateFactory(organisation=api.organisation, slug="later")
    api.put("/api/sequences/later", {"name": "Later", "definition": "steps: [{delay: 1d}, {send: later}]"})
    api.post("/api/sequences/later/activate")
    api.post("/api/sequences/later/enrol", {"contactId": contact.id})
    strict = Client(enforce_csrf_checks=True)
    url = path_of(unsubscribe_url(send.id))
    response = strict.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.unsubscribed is True and contact.unsubscribed_at is not None
    assert not ScheduledSend.objects.filter(contact=contact).exists()
    again = strict.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert again.status_code == 200  # idempotent
    assert "You are unsubscribed" in strict.get(url).content.decode()
    assert api.get(f"/api/contacts/{contact.id}").json()["unsubscribed"] is True


def test_a_tampered_unsubscribe_token_is_404(client, send):
    url = path_of(unsubscribe_url(send.id))
    assert client.post(url[:-1] + ("A" if url[-1] != "A" else "B")).status_code == 404
    assert Contact.objects.get(pk=send.contact_id).unsubscribed is False
    assert client.put(url).status_code == 405


def test_the_link_of_a_deleted_contacts_email_unsubscribes_the_contact_now_at_that_address(client, api):
    # given an email sent to a contact who was deleted and created again with the same address
    old = ContactFactory(organisation=api.organisation, email="Rita@example.com")
    send = SendFactory(organisation=api.organisation, contact=old, email=old.email)
    old.delete()
    new_id = api.post("/api/contacts", {"email": "rita@example.com"}).json()["id"]
    # when the old email's one-click link is used
    response = client.post(path_of(unsubscribe_url(send.id)))
    # then the contact at that address now is unsubscribed, and the page says so truthfully
    assert response.status_code == 200 and b"You are unsubscribed" in response.content
    assert api.get(f"/api/contacts/{new_id}").json()["unsubscribed"] is True
    assert b"You are unsubscribed" in client.get(path_of(unsubscribe_url(send.id))).content


def test_an_address_with_no_contact_is_remembered_and_a_contact_made_later_starts_unsubscribed(client, api):
    contact = ContactFactory(organisation=api.organisation, email="sam@example.com")
    send = SendFactory(organisation=api.organisation, contact=contact, email=contact.email)
    contact.delete()
    page = client.get(path_of(unsubscribe_url(send.id)))
    assert b"Unsubscribe?" in page.content  # nothing says otherwise yet
    assert client.post(path_of(unsubscribe_url(send.id))).status_code == 200
    assert b"You are unsubscribed" in client.get(path_of(unsubscribe_url(send.id))).content
    # a contact created for the address later (by the API, a send, or an import) starts unsubscribed
    created = api.post("/api/contacts", {"email": "SAM@example.com"}).json()
    assert created["unsubscribed"] is True
    # and only that once: the opt-out now lives on the contact
    api.patch(f"/api/contacts/{created['id']}", {"unsubscribed": False})
    api.delete(f"/api/contacts/{created['id']}")
    assert api.post("/api/contacts", {"email": "sam@example.com"}).json()["unsubscribed"] is False


def test_a_send_to_a_remembered_address_is_refused(client, api, organisation):
    TemplateFactory(organisation=organisation, slug="news")
    contact = ContactFactory(organisation=organisation, email="lee@example.com")
    send = SendFactory(organisation=organisation, contact=contact, email=contact.email)
    contact.delete()
    client.post(path_of(unsubscribe_url(send.id)))
    response = api.post("/api/send", {"to": "lee@example.com", "templateId": "news"})
    assert response.status_code == 422 and "unsubscribed" in response.json()["error"]["message"]


def test_tracking_tokens_are_djangos_signatures_byte_for_byte(settings):
    """kraiter.links derives each salt's key once: the tokens are still django.core.signing's,
    so links already in inboxes keep working, and a rotated key still reads."""
    from django.core import signing

    from kraiter.links import read_click_token, read_open_token, read_unsubscribe_token

    send_id = "snd_01KBS0000000000000000000A0"
    assert (
        path_of(unsubscribe_url(send_id)) == f"/unsubscribe/{signing.Signer(salt='kraiter.unsubscribe').sign(send_id)}"
    )
    assert path_of(open_pixel_url(send_id)) == f"/t/o/{signing.Signer(salt='kraiter.open').sign(send_id)}.gif"
    ours = path_of(click_url(send_id, "https://example.com/a?b=1")).rsplit("/", 1)[1]
    assert signing.loads(ours, salt="kraiter.click") == [send_id, "https://example.com/a?b=1"]
    theirs = signing.dumps([send_id, "https://example.com/x"], salt="kraiter.click", compress=True)
    assert read_click_token(theirs) == (send_id, "https://example.com/x")
    assert read_click_token(theirs[:-1] + ("A" if theirs[-1] != "A" else "B")) is None
    old_key = signing.Signer(key="the-key-before-rotation", salt="kraiter.unsubscribe").sign(send_id)
    assert read_unsubscribe_token(old_key) is None
    with mock.patch("kraiter.links._UNSUBSCRIBE.fallback_keys", ["the-key-before-rotation"]):
        assert read_unsubscribe_token(old_key) == send_id
    assert read_open_token(signing.Signer(salt="kraiter.open").sign(send_id)) == send_id
    long = "https://example.com/" + "path/" * 60  # a long URL's token is compressed, as Django's would be
    token = path_of(click_url(send_id, long)).rsplit("/", 1)[1]
    assert token.startswith(".") and len(token) < len(long) and read_click_token(token) == (send_id, long)

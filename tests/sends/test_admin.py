"""Staff browse sends in the admin: filters, search, the rendered email, and no full COUNT."""

import pytest
from django.contrib.auth import get_user_model

from sends.models import SendContent
from tests.factories import ContactFactory, SendFactory, TemplateFactory


@pytest.fixture
def staff(client, db):
    user = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def sends(organisation):
    alice = ContactFactory(organisation=organisation, email="alice@example.com")
    TemplateFactory(organisation=organisation, slug="password-reset")
    TemplateFactory(organisation=organisation, slug="welcome")
    reset = SendFactory(
        organisation=organisation, contact=alice, template_slug="password-reset", status="delivered",
        subject="Reset your password", ses_message_id="0100018b-abc",
    )  # fmt: skip
    SendContent.objects.create(send=reset, html="<p>Click <a href='https://x'>here</a></p>", text="Click here")
    other = SendFactory(organisation=organisation, template_slug="welcome", status="bounced")
    return reset, other


def test_the_list_filters_and_searches(staff, sends):
    reset, other = sends
    page = staff.get("/admin/sends/send/").content.decode()
    assert reset.id in page and other.id in page
    page = staff.get("/admin/sends/send/?status__exact=bounced").content.decode()
    assert other.id in page and reset.id not in page
    page = staff.get("/admin/sends/send/?template=password-reset").content.decode()
    assert reset.id in page and other.id not in page
    for term in ("ALICE@example.com", reset.id, "0100018b-abc"):
        page = staff.get("/admin/sends/send/", {"q": term}).content.decode()
        assert reset.id in page and other.id not in page, term


def test_a_send_shows_its_rendered_email_and_timeline(staff, sends):
    reset, _ = sends
    page = staff.get(f"/admin/sends/send/{reset.id}/change/").content.decode()
    assert "Reset your password" in page and "Timeline" in page
    assert "srcdoc=" in page and "Click here" in page and 'sandbox=""' in page


def test_the_list_never_counts_the_whole_table(staff, sends, query_count):
    with query_count() as queries:
        staff.get("/admin/sends/send/?status__exact=delivered")
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "sends_send" in q["sql"]]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts

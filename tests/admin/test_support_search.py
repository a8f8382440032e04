"""Support answers "did Alice get her password reset, and what happened to it?" from the admin:
search by part of an address, a name or a subject; the send's page says what happened and why."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, SendContent
from tests.factories import ContactFactory, OrganisationFactory, SendFactory


@pytest.fixture
def staff(client, organisation):
    client.force_login(get_user_model().objects.create_superuser("support", "s@example.com", "pw"))
    return client


@pytest.fixture
def alice_reset(organisation):
    alice = ContactFactory(
        organisation=organisation,
        email="alice.wilson@example.com",
        properties={"firstName": "Alice", "lastName": "Wilson"},
    )
    other = ContactFactory(organisation=organisation, email="bob@example.org", properties={"firstName": "Bob"})
    SendFactory(organisation=organisation, contact=other, subject="Your receipt")
    send = SendFactory(
        organisation=organisation, contact=alice, template_slug="password-reset", subject="Reset your password"
    )
    at = send.created_at
    engagement_record(EngagementFact(EngagementKind.SENT, at, send_id=send.id))
    bounce = {"diagnosticCode": "smtp; 550 5.1.1 user unknown", "bounceType": "Permanent", "bounceSubType": "General"}
    engagement_record(EngagementFact(EngagementKind.BOUNCED, at, send_id=send.id, permanent=True, bounce=bounce))
    return send


@pytest.mark.parametrize("term", ["alice", "Alice Wilson", "wilson@exa", "ALICE.WILSON@EXAMPLE.COM", "reset your"])
def test_a_send_is_found_by_part_of_an_address_a_name_or_a_subject(staff, alice_reset, term):
    page = staff.get("/admin/sends/send/", {"q": term}).content.decode()
    assert alice_reset.id in page and "Your receipt" not in page


@pytest.mark.parametrize("term", ["alice", "Alice Wilson", "wilson@"])
def test_a_contact_is_found_by_part_of_an_address_or_a_name(staff, alice_reset, term):
    page = staff.get("/admin/contacts/contact/", {"q": term}).content.decode()
    assert "alice.wilson@example.com" in page and "bob@example.org" not in page


def test_searching_across_organisations_finds_theirs_too(staff, alice_reset):
    theirs = SendFactory(organisation=OrganisationFactory(name="Globex"), email="alice@globex.example")
    assert theirs.id in staff.get("/admin/sends/send/", {"q": "alice"}).content.decode()


def test_the_send_page_leads_with_the_timeline_and_the_bounce_reason(staff, alice_reset, settings):
    settings.EMAIL_BACKEND = "kraiter.mail.OutboxBackend"
    page = staff.get(f"/admin/sends/send/{alice_reset.id}/change/").content.decode()
    assert page.index("What happened") < page.index("Rendered email")
    assert "smtp; 550 5.1.1 user unknown" in page and "type: Permanent" in page and "subtype: General" in page
    assert "UTC" in page and "send-status-bounced" in page
    assert "written to the outbox" in page and "handed to SES" not in page  # the outbox backend of the tests
    assert "(purged)" not in page and "Not stored any more" in page  # the factory stores no content


def test_a_rejected_send_does_not_claim_it_was_purged(staff, organisation):
    send = SendFactory(organisation=organisation, status="rejected", rejection_reason="Sending is paused.")
    page = staff.get(f"/admin/sends/send/{send.id}/change/").content.decode()
    assert "Not rendered: the send was rejected" in page and "purge" not in page.lower().split("</form>")[0][-2000:]


def test_the_send_list_shows_subject_opened_clicked_badges_and_no_delete(staff, alice_reset):
    page = staff.get("/admin/sends/send/").content.decode()
    assert "Reset your password" in page and "send-status-bounced" in page and "field-opened" in page
    assert "delete_selected" not in page
    assert 'column-email"' in page.split("<thead>")[1].split("</th>")[0]  # the address first, not the id
    assert "delete_selected" not in staff.get("/admin/sends/sesnotification/").content.decode()


def test_the_send_page_has_headers_and_an_eml_download_made_inert(staff, alice_reset):
    SendContent.objects.create(send=alice_reset, html='<p><img src="http://127.0.0.1:8000/t/o/x.gif">Hi</p>', text="Hi")
    page = staff.get(f"/admin/sends/send/{alice_reset.id}/change/").content.decode()
    assert "List-Unsubscribe" in page and "Message-ID" in page and f"{alice_reset.id}.eml" in page
    download = staff.get(f"/admin/sends/send/{alice_reset.id}/eml/")
    assert download["Content-Type"] == "message/rfc822" and b"Subject: Reset your password" in download.content
    assert b"X-Kraiter-Copy" in download.content


def _plan(queryset) -> str:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_partial_searches_can_use_the_trigram_indexes(alice_reset):
    """The indexes match the expressions the search produces (sends 0006, contacts 0006)."""
    from contacts.models import Contact
    from kraiter.admin_search import contacts_matching, sends_matching
    from sends.models import Send

    plan = _plan(sends_matching(Send.objects.all(), "wilson"))
    assert "send_email_trgm_idx" in plan and "send_subject_trgm_idx" in plan, plan
    plan = _plan(contacts_matching(Contact.objects.all(), "Alice Wilson"))
    assert "contact_name_trgm_idx" in plan and "contact_email_trgm_idx" in plan, plan


def _matches(organisation, count: int) -> list:
    contact = ContactFactory(organisation=organisation, email="zed@example.com")
    SendFactory(organisation=organisation, contact=contact, subject="Nothing to see")
    return [
        SendFactory(organisation=organisation, contact=contact, email=f"carol{n}@example.com") for n in range(count)
    ]  # oldest first


def _searches(queries) -> list[str]:
    """The statements that search the sends (not those that read the found ones by key)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "LIKE" in q["sql"].upper() and '"sends_send"' in q["sql"] and '"sends_send"."id" IN (' not in q["sql"]
    ]


def test_a_search_finds_its_matches_once_for_the_count_and_the_page(staff, organisation, query_count):
    """A partial match is a trigram index scan on PostgreSQL (the slow part of a search on
    millions of sends): the bounded count and the page share one, not one each."""
    sends = _matches(organisation, 60)
    with query_count() as queries:
        first = staff.get("/admin/sends/send/", {"q": "carol"}).content.decode()
    matching = _searches(queries)
    assert len(matching) == 1, matching
    assert "60 results" in first and "Nothing to see" not in first
    assert [send.id in first for send in sends] == [False] * 10 + [True] * 50  # newest first
    second = staff.get("/admin/sends/send/", {"q": "carol", "p": 2}).content.decode()
    assert [send.id in second for send in sends] == [True] * 10 + [False] * 50


def test_a_search_counts_up_to_its_bound(staff, organisation):
    """Past SearchPaginator.limit the count says limit + 1 and the pages stop there."""
    from kraiter.admin_tools import SearchPaginator

    sends = _matches(organisation, 30)
    with mock.patch.object(SearchPaginator, "limit", 20):
        page = staff.get("/admin/sends/send/", {"q": "carol"}).content.decode()
    assert "21 results" in page
    assert [send.id in page for send in sends] == [False] * 9 + [True] * 21


def test_a_search_that_fits_one_page_finds_its_matches_once(staff, organisation, query_count):
    sends = _matches(organisation, 3)
    with query_count() as queries:
        page = staff.get("/admin/sends/send/", {"q": "carol"}).content.decode()
    matching = _searches(queries)
    assert len(matching) == 1, matching
    assert "3 results" in page and all(send.id in page for send in sends) and "Nothing to see" not in page

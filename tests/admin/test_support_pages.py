"""The admin as support uses it: every page renders offline, lists never count whole tables,
actions go through the services."""

import re

import pytest
from django.contrib.auth import get_user_model

from contacts.models import Contact
from kraiter.models import StaffMembership
from scheduling.models import Enrolment, ScheduledSend
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind
from tests.factories import ContactFactory, OrganisationFactory, SendFactory, TemplateFactory

CHANGELISTS = [
    "/admin/sends/send/",
    "/admin/sends/sesnotification/",
    "/admin/contacts/contact/",
    "/admin/contacts/event/",
    "/admin/scheduling/enrolment/",
    "/admin/scheduling/scheduledsend/",
    "/admin/scheduling/sequence/",
    "/admin/templates_app/template/",
    "/admin/kraiter/apikey/",
    "/admin/domains/domain/",
    "/admin/domains/sendersettings/",
]


@pytest.fixture
def staff(client, organisation):
    user = get_user_model().objects.create_superuser("support", "support@example.com", "pw")
    StaffMembership.objects.create(user=user, organisation=organisation)
    client.force_login(user)
    return client


@pytest.fixture
def world(api, organisation, templates_for_sequence):
    """Alice, with a send, an enrolment with a scheduled send, and an event."""
    api.put("/api/sequences/onboarding", {"name": "Onboarding", "definition": "steps: [{delay: 1d}, {send: welcome}]"})
    api.post("/api/sequences/onboarding/activate")
    event = api.post("/api/events", {"name": "signed_up", "email": "alice@example.com"}).json()
    api.post("/api/sequences/onboarding/enrol", {"contactId": event["contactId"]})
    alice = Contact.objects.get(pk=event["contactId"])
    send = SendFactory(organisation=organisation, contact=alice, template_slug="welcome", subject="Welcome Alice")
    engagement_record(EngagementFact(EngagementKind("sent"), send.created_at, send_id=send.id))
    return {"alice": alice, "send": send}


@pytest.fixture
def templates_for_sequence(organisation):
    return TemplateFactory(organisation=organisation, slug="welcome", name="Welcome", subject="Hi {{ firstName }}")


def test_every_page_renders_without_the_internet(staff, world):
    pages = ["/admin/", *CHANGELISTS, f"/admin/contacts/contact/{world['alice'].id}/change/",
             f"/admin/sends/send/{world['send'].id}/change/", "/admin/metrics/"]  # fmt: skip
    for page in pages:
        response = staff.get(page)
        assert response.status_code == 200, page
        assert not re.search(r'(src|href)="https?://', response.content.decode()), page


def test_the_front_page_shows_today_and_a_search(staff, world, api):
    page = staff.get("/admin/").content.decode()
    assert 'id="find-send"' in page and "<svg" in page
    assert '<td class="today-sent">1</td>' in page
    assert api.get("/api/metrics").json()["timeseries"][-1]["sent"] == 1


def test_no_list_counts_a_whole_table(staff, world, query_count):
    for page in CHANGELISTS:
        with query_count() as queries:
            assert staff.get(page).status_code == 200
        for sql in (q["sql"].upper() for q in queries.captured_queries):
            if "COUNT(" in sql and any(
                t in sql
                for t in (
                    "SENDS_SEND",
                    "CONTACTS_",
                    "SCHEDULING_ENROLMENT",
                    "SCHEDULING_SCHEDULEDSEND",
                    "SENDS_SESNOTIFICATION",
                )
            ):
                assert "LIMIT" in sql, (page, sql)


def test_lists_default_to_the_staff_members_organisation_and_search_spans_all(staff, world):
    other = OrganisationFactory(name="Globex")
    theirs = SendFactory(organisation=other, email="zed@globex.example")
    page = staff.get("/admin/sends/send/").content.decode()
    assert world["send"].id in page and theirs.id not in page
    assert theirs.id in staff.get("/admin/sends/send/", {"q": "ZED@globex.example"}).content.decode()
    assert theirs.id in staff.get("/admin/sends/send/", {"organisation": "all"}).content.decode()
    assert theirs.id in staff.get("/admin/sends/send/", {"created": "1", "organisation": other.id}).content.decode()


def test_a_contact_page_shows_sends_scheduled_sends_enrolments_and_events(staff, world):
    page = staff.get(f"/admin/contacts/contact/{world['alice'].id}/change/").content.decode()
    assert "Welcome Alice" in page and world["send"].id in page  # the send links to its page
    assert "onboarding" in page and "signed_up" in page
    assert ScheduledSend.objects.get().id in page


def test_contact_actions_go_through_the_services(staff, world):
    alice = world["alice"]
    url = "/admin/contacts/contact/"
    staff.post(url, {"action": "suppress", "_selected_action": [alice.id]})
    alice.refresh_from_db()
    assert (alice.suppressed, alice.suppression_reason) == (True, "manual")
    assert not ScheduledSend.objects.exists()  # suppression cancelled the scheduled send
    assert Enrolment.objects.get().status == "cancelled"
    staff.post(url, {"action": "unsuppress", "_selected_action": [alice.id]})
    alice.refresh_from_db()
    assert alice.suppressed is False
    Contact.objects.filter(pk=alice.pk).update(unsubscribed=True)
    staff.post(url, {"action": "resubscribe", "_selected_action": [alice.id]})
    alice.refresh_from_db()
    assert alice.unsubscribed is False


def test_cancelling_a_scheduled_send_in_the_admin_ends_its_enrolment(staff, world):
    scheduled = ScheduledSend.objects.get()
    staff.post("/admin/scheduling/scheduledsend/", {"action": "cancel", "_selected_action": [scheduled.id]})
    assert not ScheduledSend.objects.exists()
    assert Enrolment.objects.get().ended_reason == "cancelled by staff"


def test_sequence_page_shows_steps_and_enrolment_counts(staff, world):
    from scheduling.models import Sequence

    sequence = Sequence.objects.get()
    listing = staff.get("/admin/scheduling/sequence/").content.decode()
    assert '<td class="field-active_enrolments">1</td>' in listing
    page = staff.get(f"/admin/scheduling/sequence/{sequence.pk}/change/").content.decode()
    assert "1. wait 24 hour(s)" in page and "2. send welcome" in page
    staff.post("/admin/scheduling/sequence/", {"action": "pause", "_selected_action": [sequence.pk]})
    sequence.refresh_from_db()
    assert sequence.status == "paused" and ScheduledSend.objects.get().held


def test_a_sequence_page_reads_its_conditions_jumps_and_exits(staff, api, templates_for_sequence):
    from scheduling.models import Sequence

    definition = """
trigger: {event: signed_up, conditions: [{property: contact.properties.plan, operator: equals, value: pro}]}
exitConditions: [{property: event.purchased, operator: exists}]
steps:
  - {id: hello, send: welcome}
  - delay: 2d
  - {action: condition, property: event.email.opened, operator: notExists, send: previous, onTrue: hello}
"""
    assert api.put("/api/sequences/nudges", {"name": "Nudges", "definition": definition}).status_code == 201
    page = staff.get(f"/admin/scheduling/sequence/{Sequence.objects.get().pk}/change/").content.decode()
    assert "2. wait 2 day(s)" in page
    assert "3. if event.email.opened notExists: on true go to step 1, on false continue" in page
    assert "exit when event.purchased exists" in page


def test_an_event_page_says_why_a_trigger_did_not_enrol(staff, api, templates_for_sequence):
    from scheduling.reactions import react_until_idle

    definition = "trigger: {event: signed_up, conditions: [{property: contact.properties.plan, operator: equals, value: pro}]}\nsteps: [{send: welcome}]"
    api.put("/api/sequences/pro-only", {"name": "Pro only", "definition": definition})
    api.post("/api/sequences/pro-only/activate")
    api.post("/api/events", {"name": "signed_up", "email": "free@example.com"})
    assert "not read yet" in staff.get("/admin/contacts/event/").content.decode()
    react_until_idle()
    listing = staff.get("/admin/contacts/event/").content.decode()
    assert "pro-only: not enrolled, its trigger&#x27;s conditions do not hold" in listing


def test_a_template_page_shows_it_rendered(staff, templates_for_sequence):
    page = staff.get(f"/admin/templates_app/template/{templates_for_sequence.pk}/change/").content.decode()
    assert "srcdoc=" in page and "Hi " in page


def test_a_contact_is_found_by_address_across_organisations(staff, world):
    other = OrganisationFactory(name="Initech")
    ContactFactory(organisation=other, email="Peter@Initech.example")
    page = staff.get("/admin/contacts/contact/", {"q": "peter@initech.example"}).content.decode()
    assert "Peter@Initech.example" in page

"""Kraiter's events pages, replayed request by request: https://www.kraiter.com/docs/api-reference/events,
https://www.kraiter.com/docs/sdk-reference/events and https://www.kraiter.com/docs/guides/events."""

from contacts.models import Contact
from sends.models import Send
from tests.factories import TemplateFactory
from tests.kraiter.kraiter_docs.replay import assert_shape, replay

API_REFERENCE = "https://www.kraiter.com/docs/api-reference/events"
SDK_REFERENCE = "https://www.kraiter.com/docs/sdk-reference/events"
GUIDE = "https://www.kraiter.com/docs/guides/events"

# API_REFERENCE, "Track event": the response.
EVENT = {
    "id": "evt_01H9...",
    "name": "purchase_completed",
    "contactId": "cnt_01H8MZXK...",
    "properties": {"product": "Pro Plan", "amount": 49.00, "currency": "GBP"},
    "timestamp": "2025-09-15T14:20:00.000Z",
    "createdAt": "2025-09-15T14:20:00.123Z",
}


def a_contact(api, email="alice@example.com") -> str:
    return replay(api, "POST", "/api/contacts", {"email": email}, 201)["id"]


# API_REFERENCE, "Track event": the curl example (kraiter.events.track sends the same), and its errors.
def test_track_event_as_the_reference_prints_it(api):
    contact_id = a_contact(api)
    body = {"name": "purchase_completed", "contactId": contact_id, "properties": EVENT["properties"]}
    tracked = replay(api, "POST", "/api/events", body, 201)
    assert_shape(tracked, EVENT)
    assert tracked["id"].startswith("evt_") and {key: tracked[key] for key in body} == body
    assert replay(api, "GET", f"/api/events/{tracked['id']}") == tracked
    # VALIDATION_ERROR: missing event name, or neither contactId nor email; NOT_FOUND: unknown contactId
    for refused in ({"contactId": contact_id}, {"name": "purchase_completed"}):
        assert replay(api, "POST", "/api/events", refused, 400)["error"]["code"] == "VALIDATION_ERROR"
    unknown = {"name": "purchase_completed", "contactId": "cnt_01H8MZXK0000000000000000AB"}
    assert replay(api, "POST", "/api/events", unknown, 404)["error"]["code"] == "NOT_FOUND"


# API_REFERENCE: "You must provide either contactId or email, but not both"; SDK_REFERENCE: "If both
# are given, contactId takes precedence". The pages disagree; docs/api.md 8 takes the SDK's (a client
# of either works): contactId decides, and an email naming someone else is refused, never ignored.
def test_contact_id_and_email_together(api):
    contact_id = a_contact(api)
    a_contact(api, "bob@example.com")
    both = {"name": "page_viewed", "contactId": contact_id, "email": "alice@example.com"}
    assert replay(api, "POST", "/api/events", both, 201)["contactId"] == contact_id
    replay(api, "POST", "/api/events", {**both, "email": "bob@example.com"}, 400)


# SDK_REFERENCE, "track", "Identifying by email" and "Custom timestamp" (the page's contactId
# `con_abc123` is replaced by a real one: the seeds' ids are cnt_).
def test_the_sdks_three_track_calls(api):
    contact_id = a_contact(api)
    upgraded = {
        "name": "plan_upgraded",
        "contactId": contact_id,
        "properties": {"previousPlan": "free", "newPlan": "pro"},
    }
    assert replay(api, "POST", "/api/events", upgraded, 201)["properties"] == upgraded["properties"]
    viewed = {"name": "page_viewed", "email": "alice@example.com", "properties": {"url": "/pricing"}}
    assert replay(api, "POST", "/api/events", viewed, 201)["contactId"] == contact_id
    backdated = {"name": "signed_up", "contactId": contact_id, "timestamp": "2025-06-15T10:30:00Z"}
    assert replay(api, "POST", "/api/events", backdated, 201)["timestamp"] == "2025-06-15T10:30:00.000Z"
    names = [e["name"] for e in replay(api, "GET", f"/api/events?contactId={contact_id}")["data"]]
    assert names == ["page_viewed", "plan_upgraded", "signed_up"]  # newest first by timestamp


# GUIDE, "Sending custom events" (its curl's URL lacks /api, which the API overview requires: we
# follow the overview) with the guide's `event` spelling of the name, and "Auto-contact creation".
# The API reference says instead that an unknown email's event "will be associated when a contact
# with that email is created"; docs/api.md 8 chose the guide's: the contact is created at once.
def test_the_guides_event_and_the_contact_it_creates(api):
    body = {
        "email": "alice@example.com",
        "event": "purchase.completed",
        "properties": {"orderId": "ORD-12345", "amount": 79.99, "currency": "GBP", "items": 3},
    }
    tracked = replay(api, "POST", "/api/events", body, 201)
    assert (tracked["name"], tracked["properties"]) == ("purchase.completed", body["properties"])
    started = replay(api, "POST", "/api/events", {"email": "new-user@example.com", "event": "signup.started"}, 201)
    created = replay(api, "GET", "/api/contacts/new-user%40example.com")
    assert created["id"] == started["contactId"] and created["properties"] == {}  # "no custom properties"
    assert Contact.objects.filter(email="alice@example.com").count() == 1


# GUIDE: events are "the primary mechanism for triggering sequence enrolments", and "Event names
# are case-sensitive".
def test_event_names_trigger_sequences_case_sensitively(api, templates, beat):
    definition = "trigger:\n  event: purchase.completed\nsteps:\n  - send: welcome-email\n"
    replay(api, "PUT", "/api/sequences/buyers", {"id": "buyers", "name": "Buyers", "definition": definition}, 201)
    replay(api, "POST", "/api/sequences/buyers/activate")
    replay(api, "POST", "/api/events", {"email": "alice@example.com", "event": "Purchase.Completed"}, 201)
    beat.run()
    assert not Send.objects.exists()
    replay(api, "POST", "/api/events", {"email": "alice@example.com", "event": "purchase.completed"}, 201)
    beat.run()
    assert list(Send.objects.values_list("email", "template_slug")) == [("alice@example.com", "welcome-email")]


# GUIDE: "system events generated automatically when emails are sent, opened, clicked, bounced, or
# complained about" sit beside the custom ones.
def test_a_sent_email_is_a_system_event_of_its_contact(api, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.OUTBOX_DIR = tmp_path
    TemplateFactory(organisation=api.organisation, slug="password-reset")
    with django_capture_on_commit_callbacks(execute=True):  # delivery, handed to the worker on commit
        send = replay(api, "POST", "/api/send", {"to": "alice@example.com", "templateId": "password-reset"}, 201)
    [sent] = replay(api, "GET", "/api/events?email=alice@example.com&name=email.sent")["data"]
    assert (sent["system"], sent["sendId"], sent["properties"]["templateId"]) == (True, send["id"], "password-reset")

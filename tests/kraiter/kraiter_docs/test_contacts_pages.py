"""Kraiter's contacts pages, replayed request by request:
https://www.kraiter.com/docs/api-reference/contacts, https://www.kraiter.com/docs/sdk-reference/contacts,
https://www.kraiter.com/docs/guides/contacts, and the overview https://www.kraiter.com/docs/api-reference.
(The reference's "segment memberships" of a contact are segments' work: not yet, not here.)"""

import pytest

from sends.models import Send
from tests.kraiter.kraiter_docs.replay import assert_shape, replay

API_REFERENCE = "https://www.kraiter.com/docs/api-reference/contacts"
SDK_REFERENCE = "https://www.kraiter.com/docs/sdk-reference/contacts"
GUIDE = "https://www.kraiter.com/docs/guides/contacts"
OVERVIEW = "https://www.kraiter.com/docs/api-reference"

# API_REFERENCE, "Create contact": the request (the SDK's contacts.create sends the same) and the response.
ALICE = {"email": "alice@example.com", "properties": {"firstName": "Alice", "plan": "pro"}}
CONTACT = {
    "id": "cnt_01H8MZXK...",
    "email": "alice@example.com",
    "properties": {"firstName": "Alice", "plan": "pro"},
    "suppressed": False,
    "createdAt": "2025-09-15T10:30:00.000Z",
    "updatedAt": "2025-09-15T10:30:00.000Z",
}
# GUIDE, "System properties": these are on every contact too (unsubscribed is not in the reference's example).
SYSTEM_PROPERTIES = {"email": "", "createdAt": "", "updatedAt": "", "unsubscribed": False, "suppressed": False}


# API_REFERENCE, "Create contact", and its errors: VALIDATION_ERROR (missing or invalid email), CONFLICT.
def test_create_contact_as_the_reference_prints_it(api):
    created = replay(api, "POST", "/api/contacts", ALICE, 201)
    assert_shape(created, CONTACT)
    assert_shape(created, SYSTEM_PROPERTIES)
    assert created["id"].startswith("cnt_") and {k: created[k] for k in ALICE} == ALICE
    assert replay(api, "POST", "/api/contacts", ALICE, 409)["error"]["code"] == "CONFLICT"
    for body in ({"properties": {"plan": "pro"}}, {"email": "not-an-address"}):
        assert replay(api, "POST", "/api/contacts", body, 400)["error"]["code"] == "VALIDATION_ERROR"


# OVERVIEW, "Errors": {"error": {"code": "VALIDATION_ERROR", "message": "The 'email' field is required."}},
# "Response format" ({data, nextCursor}), and "Requests without a valid token receive a 401".
def test_the_overviews_error_list_and_authentication_shapes(api, anonymous):
    refused = replay(api, "POST", "/api/contacts", {"properties": {}}, 400)
    assert refused["error"]["message"] == "The 'email' field is required."
    # "400 VALIDATION_ERROR: The request body or query parameters are invalid": a misspelt filter too
    assert replay(api, "GET", "/api/contacts?serach=alice", status=400)["error"]["code"] == "VALIDATION_ERROR"
    replay(api, "POST", "/api/contacts", ALICE, 201)
    listed = replay(api, "GET", "/api/contacts")
    assert_shape(listed, {"data": [{"id": "cnt_01H...", "email": "alice@example.com"}], "nextCursor": None})
    unauthorised = anonymous.get("/api/contacts")
    assert unauthorised.status_code == 401 and unauthorised.json()["error"]["code"] == "UNAUTHORISED"


# API_REFERENCE, "List contacts": cursor, limit, search (partial match on email), suppressed; and the
# SDK's contacts.list({search: 'alice'}).
def test_list_contacts_with_the_references_parameters(api):
    for email in ("alice@example.com", "malice@example.com", "bob@example.com"):
        replay(api, "POST", "/api/contacts", {"email": email, "properties": {"firstName": "Alice"}}, 201)
    bob = replay(api, "GET", "/api/contacts?search=bob")["data"][0]
    replay(api, "PATCH", f"/api/contacts/{bob['id']}", {"suppressed": True})
    found = replay(api, "GET", "/api/contacts?search=alice")["data"]
    assert [c["email"] for c in found] == ["malice@example.com", "alice@example.com"]
    assert [c["email"] for c in replay(api, "GET", "/api/contacts?suppressed=true")["data"]] == ["bob@example.com"]
    first = replay(api, "GET", "/api/contacts?suppressed=false&limit=1")
    second = replay(api, "GET", f"/api/contacts?suppressed=false&limit=1&cursor={first['nextCursor']}")
    assert [first["data"][0]["email"], second["data"][0]["email"]] == ["malice@example.com", "alice@example.com"]
    assert second["nextCursor"] is None


# SDK_REFERENCE, "get" and "getByEmail" ("Returns null if no contact is found"): the REST calls are
# GET /api/contacts/:id and the exact ?email= lookup (an empty page when there is none). The page's
# id `con_abc123` is the SDK page's own spelling; the seeds' contact ids are cnt_ (docs/seeds/000),
# and those win: an unknown cnt_ id is the documented NOT_FOUND.
def test_get_and_get_by_email(api):
    alice = replay(api, "POST", "/api/contacts", ALICE, 201)
    replay(api, "POST", "/api/contacts", {"email": "alice.smith@example.com"}, 201)
    assert replay(api, "GET", f"/api/contacts/{alice['id']}") == alice
    assert (
        replay(api, "GET", "/api/contacts/cnt_01H8MZXK0000000000000000AB", status=404)["error"]["code"] == "NOT_FOUND"
    )
    # The page's own `con_abc123` is neither an id of ours nor an address: 400 (docs/api.md 1, id format)
    assert replay(api, "GET", "/api/contacts/con_abc123", status=400)["error"]["code"] == "VALIDATION_ERROR"
    assert replay(api, "GET", "/api/contacts?email=alice@example.com")["data"] == [alice]
    assert replay(api, "GET", "/api/contacts?email=ALICE@Example.com")["data"] == [alice]
    assert replay(api, "GET", "/api/contacts?email=nobody@example.com")["data"] == []
    assert replay(api, "GET", "/api/contacts/alice%40example.com") == alice


# GUIDE, "Creating a contact" (the curl's URL lacks /api; the API overview puts every endpoint under
# /api, and so do we), the duplicate refused, then "Contact properties": contacts.update('alice@...', ...)
# addressed by email, merging properties of each type the guide lists.
def test_the_guides_contact_and_its_typed_properties(api):
    body = {"email": "alice@example.com", "properties": {"name": "Alice", "plan": "pro", "signupDate": "2025-06-15"}}
    created = replay(api, "POST", "/api/contacts", body, 201)
    assert replay(api, "POST", "/api/contacts", body, 409)["error"]["code"] == "CONFLICT"
    updated = replay(
        api, "PATCH", "/api/contacts/alice%40example.com", {"properties": {"orderCount": 5, "isVip": True}}
    )
    assert updated["id"] == created["id"]
    assert updated["properties"] == {**body["properties"], "orderCount": 5, "isVip": True}
    assert_shape(updated, {**SYSTEM_PROPERTIES, "properties": {"orderCount": 5, "isVip": True, "signupDate": ""}})


# GUIDE: properties are usable "in sequence conditions", each compared as its type: a number, a
# boolean and a date (an ISO 8601 string compared as an instant).
@pytest.mark.parametrize(
    ("properties", "mailed"),
    [
        ({"orderCount": 5, "isVip": True, "signupDate": "2025-06-15"}, True),
        ({"orderCount": 4, "isVip": True, "signupDate": "2025-06-15"}, False),
        ({"orderCount": 5, "isVip": False, "signupDate": "2025-06-15"}, False),
        ({"orderCount": 5, "isVip": True, "signupDate": "2024-12-31"}, False),
    ],
)
def test_typed_properties_in_a_sequence_condition(api, templates, beat, properties, mailed):
    definition = """steps:
  - action: condition
    and:
      - {property: contact.properties.orderCount, operator: greaterThanOrEquals, value: 5}
      - {property: contact.properties.isVip, operator: equals, value: true}
      - {property: contact.properties.signupDate, operator: greaterThan, value: '2025-01-01'}
    onFalse: exit
  - action: email
    template: welcome-email
"""
    replay(api, "PUT", "/api/sequences/vip", {"id": "vip", "name": "VIP", "definition": definition}, 201)
    replay(api, "POST", "/api/sequences/vip/activate")
    replay(api, "POST", "/api/contacts", {"email": "alice@example.com", "properties": properties}, 201)
    replay(api, "POST", "/api/sequences/vip/enrol", {"email": "alice@example.com"}, 201)
    beat.run()
    assert Send.objects.filter(email="alice@example.com").exists() is mailed


# API_REFERENCE (its opening line): a contact's sends, scheduled sends, sequence enrolments and
# timeline, each reachable by the contact's id or its address.
def test_a_contacts_sends_scheduled_enrolments_and_timeline(api, templates, beat):
    definition = "steps:\n  - send: welcome-email\n  - delay: 1d\n  - send: getting-started\n"
    replay(api, "PUT", "/api/sequences/onboarding", {"id": "onboarding", "name": "O", "definition": definition}, 201)
    replay(api, "POST", "/api/sequences/onboarding/activate")
    alice = replay(api, "POST", "/api/contacts", ALICE, 201)
    enrolment = replay(api, "POST", "/api/sequences/onboarding/enrol", {"contactId": alice["id"]}, 201)
    beat.run()
    for key in (alice["id"], "alice%40example.com"):
        [send] = replay(api, "GET", f"/api/contacts/{key}/sends")["data"]
        assert (send["templateId"], send["source"], send["sourceId"]) == ("welcome-email", "sequence", "onboarding")
        [scheduled] = replay(api, "GET", f"/api/contacts/{key}/scheduled")["data"]
        assert (scheduled["templateId"], scheduled["step"]) == ("getting-started", 2)
        assert [e["id"] for e in replay(api, "GET", f"/api/contacts/{key}/enrolments")["data"]] == [enrolment["id"]]
        kinds = {item["type"] for item in replay(api, "GET", f"/api/contacts/{key}/timeline")["data"]}
        assert {"send", "enrolment"} <= kinds

"""Enrolments in the API (docs/api.md 8): a sequence's and a contact's, and taking a contact out."""

from datetime import timedelta

import pytest

from scheduling.models import Enrolment, ScheduledSend
from sends.models import Send
from tests.openapi import assert_matches_schema
from tests.scheduling.conftest import enrol

FIELDS = {
    "id", "sequenceId", "contactId", "email", "status", "currentStep", "version", "enrolledAt", "endedAt",
    "endedReason", "createdAt",
}  # fmt: skip


def test_a_sequences_enrolments_are_listed_newest_first_with_a_status_filter(api, onboarding, timeline):
    first = enrol(api, "a@example.com")
    second = enrol(api, "b@example.com")
    third = enrol(api, "c@example.com")
    api.post(f"/api/sequences/onboarding/enrolments/{second['id']}/exit")
    response = api.get("/api/sequences/onboarding/enrolments")
    assert response.status_code == 200
    assert_matches_schema(response, "GET", "/api/sequences/onboarding/enrolments")
    data = response.json()["data"]
    assert [e["id"] for e in data] == [third["id"], second["id"], first["id"]]
    assert set(data[0]) == FIELDS
    assert (data[0]["email"], data[0]["status"], data[0]["version"], data[0]["endedAt"]) == (
        "c@example.com", "active", 1, None,
    )  # fmt: skip
    active = api.get("/api/sequences/onboarding/enrolments?status=active").json()["data"]
    assert [e["id"] for e in active] == [third["id"], first["id"]]
    exited = api.get("/api/sequences/onboarding/enrolments?status=exited").json()["data"]
    assert [e["id"] for e in exited] == [second["id"]]


def test_enrolment_pages_follow_the_cursor(api, onboarding):
    ids = [enrol(api, f"p{n}@example.com")["id"] for n in range(5)]
    seen, path = [], "/api/sequences/onboarding/enrolments?limit=2"
    while path:
        body = api.get(path).json()
        seen += [e["id"] for e in body["data"]]
        cursor = body["nextCursor"]
        path = f"/api/sequences/onboarding/enrolments?limit=2&cursor={cursor}" if cursor else None
    assert seen == list(reversed(ids))


def test_a_contacts_enrolments_by_id_or_by_email(api, onboarding, templates):
    api.put("/api/sequences/other", {"name": "Other", "definition": "steps: [{send: tips-and-tricks}]"})
    api.post("/api/sequences/other/activate")
    one = enrol(api, "both@example.com")
    two = enrol(api, "both@example.com", sequence="other")
    enrol(api, "someone-else@example.com")
    by_id = api.get(f"/api/contacts/{one['contactId']}/enrolments")
    assert by_id.status_code == 200
    assert_matches_schema(by_id, "GET", f"/api/contacts/{one['contactId']}/enrolments")
    assert [(e["id"], e["sequenceId"]) for e in by_id.json()["data"]] == [
        (two["id"], "other"),
        (one["id"], "onboarding"),
    ]
    by_email = api.get("/api/contacts/both@example.com/enrolments").json()["data"]
    assert [e["id"] for e in by_email] == [two["id"], one["id"]]
    assert api.get("/api/contacts/nobody@example.com/enrolments").status_code == 404


@pytest.mark.parametrize("method", ["post", "delete"])
def test_taking_a_contact_out_ends_the_enrolment_and_cancels_its_pending_email(api, onboarding, timeline, method):
    enrolment = enrol(api, "out@example.com")
    timeline.run()
    assert ScheduledSend.objects.count() == 1
    path = f"/api/sequences/onboarding/enrolments/{enrolment['id']}"
    response = api.post(path + "/exit") if method == "post" else api.delete(path)
    assert response.status_code == 200
    assert_matches_schema(
        response, "POST" if method == "post" else "DELETE", path + ("/exit" if method == "post" else "")
    )
    body = response.json()
    assert (body["status"], body["endedReason"]) == ("exited", "taken out through the API")
    assert body["endedAt"] is not None
    assert ScheduledSend.objects.count() == 0
    timeline.run(timedelta(days=10))
    assert Send.objects.count() == 1  # only the welcome, sent before
    # Again: nothing changes, the same answer
    again = api.post(path + "/exit")
    assert again.status_code == 200 and again.json()["endedAt"] == body["endedAt"]
    assert api.get(path).json()["status"] == "exited"
    # The contact can be enrolled again
    assert enrol(api, "out@example.com")["id"] != enrolment["id"]


def test_unknown_enrolments_and_bad_filters(api, onboarding, templates):
    enrolment = enrol(api, "x@example.com")
    api.put("/api/sequences/other", {"name": "Other", "definition": "steps: [{send: tips-and-tricks}]"})
    missing = api.post("/api/sequences/onboarding/enrolments/enr_01J00000000000000000000000/exit")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    # an enrolment of another sequence is not found under this one
    assert api.get(f"/api/sequences/other/enrolments/{enrolment['id']}").status_code == 404
    assert api.get("/api/sequences/onboarding/enrolments/not-an-id").status_code in (400, 404)
    assert api.get("/api/sequences/nope/enrolments").status_code == 404
    bad = api.get("/api/sequences/onboarding/enrolments?status=finished")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert api.get("/api/sequences/onboarding/enrolments?colour=red").status_code == 400
    assert Enrolment.objects.get().status == "active"


def test_listing_enrolments_uses_the_sequence_index(api, onboarding, query_count):
    for n in range(3):
        enrol(api, f"q{n}@example.com")
    with query_count() as queries:
        assert api.get("/api/sequences/onboarding/enrolments?status=active&limit=2").status_code == 200
    listing = [q["sql"] for q in queries.captured_queries if "scheduling_enrolment" in q["sql"]]
    assert len(listing) == 1 and "OFFSET" not in listing[0] and "COUNT(" not in listing[0].upper()

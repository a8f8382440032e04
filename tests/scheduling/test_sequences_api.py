"""/api/sequences, enrolment and /api/events (docs/api.md 8)."""

import pytest
from django.db import IntegrityError, transaction

from scheduling.models import Enrolment, ScheduledSend
from scheduling.reactions import react_until_idle
from tests.factories import ContactFactory
from tests.openapi import assert_matches_schema
from tests.scheduling.conftest import ONBOARDING, enrol


def put(api, slug="onboarding", **body):
    return api.put(f"/api/sequences/{slug}", {"id": slug, "name": "Onboarding", "definition": ONBOARDING, **body})


def test_put_creates_a_draft_then_replaces_it(api, templates):
    created = put(api)
    assert created.status_code == 201
    assert_matches_schema(created, "PUT", "/api/sequences/onboarding")
    body = created.json()
    assert (body["id"], body["status"], body["triggers"]) == ("onboarding", "draft", [{"event": "signed_up"}])
    assert body["definition"] == ONBOARDING
    updated = put(api, name="Onboarding v2", triggers=["trial_started"])
    assert updated.status_code == 200
    assert updated.json()["name"] == "Onboarding v2" and updated.json()["triggers"] == [
        {"event": "signed_up"},
        {"event": "trial_started"},
    ]


def test_put_accepts_the_definition_as_an_object(api, templates):
    response = put(api, definition={"steps": [{"send": "welcome-email"}, {"delay": "2h"}, {"send": "tips-and-tricks"}]})
    assert response.status_code == 201
    assert response.json()["definition"] == {
        "steps": [{"send": "welcome-email"}, {"delay": "2h"}, {"send": "tips-and-tricks"}]
    }  # as sent


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"definition": "steps: [{send: missing-template}]"}, "unknown template"),
        ({"definition": "steps: [{action: sms}]"}, "step 1: unknown action"),
        ({"definition": "steps:\n  - send: a\n - bad"}, "invalid YAML on line"),
        ({"definition": 42}, "definition"),
        ({"id": "other"}, "differs"),
        ({"name": None}, "name"),
        ({"triggers": "signed_up"}, "triggers"),
    ],
)
def test_put_validation(api, templates, body, message):
    response = put(api, **body)
    assert response.status_code == 400
    assert message in str(response.json()["error"])


def test_list_get_and_status_filter(api, onboarding, templates):
    put(api, slug="winback")
    everything = api.get("/api/sequences")
    assert_matches_schema(everything, "GET", "/api/sequences")
    assert [s["id"] for s in everything.json()["data"]] == ["winback", "onboarding"]
    assert [s["id"] for s in api.get("/api/sequences?status=active").json()["data"]] == ["onboarding"]
    assert [s["id"] for s in api.get("/api/sequences?status=draft").json()["data"]] == ["winback"]
    assert api.get("/api/sequences?status=running").status_code == 400
    response = api.get("/api/sequences/onboarding")
    assert_matches_schema(response, "GET", "/api/sequences/onboarding")
    assert response.json()["status"] == "active"


def test_activate_checks_every_template_exists(api, templates):
    put(api)
    templates["tips-and-tricks"].delete()
    response = api.post("/api/sequences/onboarding/activate")
    assert response.status_code == 422
    assert "tips-and-tricks" in response.json()["error"]["message"]


def test_a_template_used_by_an_active_sequence_cannot_be_deleted(api, onboarding):
    response = api.delete("/api/templates/getting-started")
    assert response.status_code == 409
    api.post("/api/sequences/onboarding/pause")
    assert api.delete("/api/templates/getting-started").status_code == 204


def test_enrol_by_contact_id_or_email(api, onboarding):
    contact = ContactFactory(organisation=api.organisation)
    response = api.post("/api/sequences/onboarding/enrol", {"contactId": contact.id})
    assert response.status_code == 201
    assert_matches_schema(response, "POST", "/api/sequences/onboarding/enrol")
    body = response.json()
    assert (body["sequenceId"], body["contactId"], body["status"], body["currentStep"]) == (
        "onboarding", contact.id, "active", 1,
    )  # fmt: skip
    assert body["id"].startswith("enr_")
    by_email = api.post("/api/sequences/onboarding/enrol", {"email": "New.Person@example.com"})
    assert by_email.status_code == 201


def test_enrol_errors(api, other_api, onboarding, templates):
    contact = ContactFactory(organisation=api.organisation)
    assert api.post("/api/sequences/onboarding/enrol", {"contactId": contact.id}).status_code == 201
    again = api.post("/api/sequences/onboarding/enrol", {"contactId": contact.id})
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    assert api.post("/api/sequences/onboarding/enrol", {}).status_code == 400
    assert api.post("/api/sequences/onboarding/enrol", {"contactId": contact.id, "email": "a@b.co"}).status_code == 400
    assert (
        api.post("/api/sequences/onboarding/enrol", {"contactId": "cnt_01ARZ3NDEKTSV4RRFFQ69G5FAV"}).status_code == 404
    )
    assert other_api.post("/api/sequences/onboarding/enrol", {"email": "x@y.co"}).status_code == 404
    put(api, slug="draft-one")
    draft = api.post("/api/sequences/draft-one/enrol", {"contactId": contact.id})
    assert draft.status_code == 422 and "draft" in draft.json()["error"]["message"]
    opted_out = ContactFactory(organisation=api.organisation, unsubscribed=True)
    assert api.post("/api/sequences/onboarding/enrol", {"contactId": opted_out.id}).status_code == 422


def test_the_database_allows_one_active_enrolment_per_contact_and_sequence(api, onboarding):
    enrolment = Enrolment.objects.get(pk=enrol(api, "dup@example.com")["id"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            organisation=enrolment.organisation, sequence=enrolment.sequence, sequence_slug="onboarding",
            version=enrolment.version, contact=enrolment.contact,
        )  # fmt: skip
    Enrolment.objects.filter(pk=enrolment.pk).update(status="completed")
    assert api.post("/api/sequences/onboarding/enrol", {"contactId": enrolment.contact_id}).status_code == 201


def test_events_enrol_the_contact_in_triggered_sequences(api, onboarding):
    response = api.post("/api/events", {"name": "signed_up", "email": "Sam@Example.com", "properties": {"plan": "pro"}})
    assert response.status_code == 201
    assert_matches_schema(response, "POST", "/api/events")
    body = response.json()
    assert body["name"] == "signed_up" and body["properties"] == {"plan": "pro"} and body["id"].startswith("evt_")
    assert react_until_idle() == 1  # what beat runs next, before the dispatcher
    enrolment = Enrolment.objects.get()
    assert enrolment.contact_id == body["contactId"] and enrolment.sequence_slug == "onboarding"
    assert ScheduledSend.objects.count() == 1
    again = api.post("/api/events", {"name": "signed_up", "contactId": body["contactId"]})
    assert again.status_code == 201 and react_until_idle() == 1
    assert Enrolment.objects.count() == 1  # already active: not enrolled twice
    other = api.post(
        "/api/events", {"name": "logged_in", "contactId": body["contactId"], "timestamp": "2025-09-15T10:00:00+02:00"}
    )
    assert other.json()["timestamp"] == "2025-09-15T08:00:00.000Z"
    assert react_until_idle() == 1 and Enrolment.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"name": "has space", "email": "a@b.co"},
        {"name": "x", "email": "a@b.co", "timestamp": "yesterday"},
        {"name": "x", "email": "a@b.co", "properties": [1]},
        {"email": "a@b.co"},
    ],
)
def test_event_validation(api, body):
    response = api.post("/api/events", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_an_event_for_an_unknown_contact_id_is_404(api, other_api):
    contact = ContactFactory(organisation=other_api.organisation)
    assert api.post("/api/events", {"name": "x", "contactId": contact.id}).status_code == 404


def test_deleting_a_sequence_cancels_its_scheduled_sends_and_enrolments(api, onboarding):
    enrolment_id = enrol(api, "del@example.com")["id"]
    assert api.delete("/api/sequences/onboarding").status_code == 204
    assert api.get("/api/sequences/onboarding").status_code == 404
    assert not ScheduledSend.objects.exists()
    assert Enrolment.objects.get(pk=enrolment_id).status == "cancelled"


def test_the_events_guides_body_is_accepted(api):
    contact = api.post("/api/contacts", {"email": "ivy@example.com"}).json()
    # `event` spells `name`; with both contactId and email, contactId decides and email must agree
    response = api.post("/api/events", {"event": "signed_up", "contactId": contact["id"], "email": "IVY@example.com"})
    assert response.status_code == 201 and response.json()["name"] == "signed_up"
    mismatch = api.post("/api/events", {"event": "signed_up", "contactId": contact["id"], "email": "other@example.com"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["details"]["email"]


@pytest.mark.parametrize("name", ["email.opened", "email.anything"])
def test_system_event_names_are_reserved(api, name):
    response = api.post("/api/events", {"name": name, "email": "a@example.com"})
    assert response.status_code == 400 and "reserved" in response.json()["error"]["message"]


def test_scheduled_sends_take_the_sdks_status_filter(api, onboarding):
    enrol(api, "sid@example.com")
    assert len(api.get("/api/scheduled?status=pending").json()["data"]) == 1
    assert api.get("/api/scheduled?status=cancelled").json()["data"] == []  # cancelled ones are not kept
    assert api.get("/api/scheduled?status=sent").status_code == 400


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("steps: " + "[" * 5_000 + "]" * 5_000, "is nested more than 32 levels deep (line 1)"),
        (
            "steps:\n  - send: welcome-email\n  - {action: condition, property: contact.properties.p, operator: equals, "
            "value: [&a [x, x, x, x, x, x, x, x, x], &b [*a, *a, *a, *a, *a, *a, *a, *a, *a], "
            "&c [*b, *b, *b, *b, *b, *b, *b, *b, *b], &d [*c, *c, *c, *c, *c, *c, *c, *c, *c], "
            "&e [*d, *d, *d, *d, *d, *d, *d, *d, *d]]}",
            "holds more than 10,000 values (aliases expanded)",
        ),
    ],
)
def test_hostile_yaml_is_a_400_that_says_why(api, templates, definition, message):
    response = put(api, definition=definition)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"The sequence definition is invalid: the definition {message}"
    assert api.get("/api/sequences/onboarding").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_creating_one_sequence_never_ask_the_client_to_retry(api, templates):
    # 6 of 15 pairs answered "409 ... retry"; templates retry internally, and now sequences do too
    from rest_framework.test import APIClient

    from scheduling.models import Sequence
    from tests.conftest import run_concurrently

    def create(slug: str, statuses: list[int]) -> None:
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
        body = {"name": "Race", "definition": "steps: [{send: welcome-email}]"}
        statuses.append(client.put(f"/api/sequences/{slug}", body, format="json").status_code)

    for pair in range(15):
        statuses: list[int] = []
        run_concurrently(lambda index, slug=f"race-{pair}", seen=statuses: create(slug, seen), 2)
        assert sorted(statuses) == [200, 201], (pair, statuses)
    assert Sequence.objects.filter(slug__startswith="race-").count() == 15

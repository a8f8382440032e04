"""https://www.kraiter.com/docs/api-reference/sequences and
https://www.kraiter.com/docs/sdk-reference/sequences, replayed request by request and run."""

import json
from datetime import timedelta

import pytest

from sends.models import Send
from tests.factories import TemplateFactory
from tests.kraiter.kraiter_docs.replay import assert_shape, replay
from tests.kraiter.kraiter_docs.test_sequences_guide import SEQUENCE_OBJECT, mailed

API_REFERENCE = "https://www.kraiter.com/docs/api-reference/sequences"
SDK_REFERENCE = "https://www.kraiter.com/docs/sdk-reference/sequences"
DAY = timedelta(days=1)

# API_REFERENCE, "Create or update sequence", the curl example's body (kraiter.sequences.put sends the same).
PUT_ONBOARDING = {
    "id": "onboarding",
    "name": "Onboarding Sequence",
    "definition": "steps:\n  - send: welcome-email\n  - delay: 1d\n  - send: getting-started\n  - delay: 3d\n"
    "  - send: tips-and-tricks\n",
    "triggers": [{"event": "signed_up"}],
}

# docs/seeds/002_dbcd5a9577e954d7.txt: a scheduled send of this very sequence.
SCHEDULED_SEND = {
    "id": "sch_01H9...",
    "contactId": "cnt_01H8MZXK...",
    "email": "alice@example.com",
    "templateId": "getting-started",
    "templateName": "Getting Started Guide",
    "subject": "Getting started with Kraiter",
    "scheduledFor": "2025-09-16T14:00:00.000Z",
    "source": "sequence",
    "sourceId": "onboarding",
    "step": 2,
    "createdAt": "2025-09-15T14:00:00.000Z",
}

# SDK_REFERENCE, "create": the definition is JSON.stringify of the SDK's steps, the trigger the SDK's shape.
SDK_CREATE = {
    "id": "seq_onboarding",
    "name": "Onboarding Drip",
    "definition": json.dumps(
        {
            "steps": [
                {"type": "email", "templateId": "tmpl_welcome", "delay": "0d"},
                {"type": "delay", "duration": "2d"},
                {"type": "email", "templateId": "tmpl_getting_started", "delay": "0d"},
            ]
        }
    ),
    "triggers": [{"type": "event", "eventName": "signed_up"}],
}


# API_REFERENCE, "Create or update sequence": 201 with the documented object, idempotent, then run:
# the seeds' scheduled sends (step 2 getting-started, step 3 tips-and-tricks) come from it.
def test_the_api_references_put_creates_a_draft_and_runs_once_activated(api, templates, beat):
    created = replay(api, "PUT", "/api/sequences/onboarding", PUT_ONBOARDING, 201)
    assert_shape(created, SEQUENCE_OBJECT)
    assert {key: created[key] for key in PUT_ONBOARDING} == PUT_ONBOARDING
    assert created["status"] == "draft"
    again = replay(api, "PUT", "/api/sequences/onboarding", PUT_ONBOARDING, 200)  # "This endpoint is idempotent."
    assert {**again, "updatedAt": None} == {**created, "updatedAt": None}
    replay(api, "POST", "/api/sequences/onboarding/activate")
    replay(api, "POST", "/api/events", {"name": "signed_up", "email": "alice@example.com"}, 201)
    beat.run()
    assert mailed("alice@example.com") == ["welcome-email"]
    [scheduled] = replay(api, "GET", "/api/scheduled?limit=20")["data"]
    assert_shape(scheduled, SCHEDULED_SEND)
    assert {key: scheduled[key] for key in ("email", "templateId", "templateName", "subject", "step")} == {
        key: SCHEDULED_SEND[key] for key in ("email", "templateId", "templateName", "subject", "step")
    }
    assert replay(api, "GET", f"/api/scheduled/{scheduled['id']}") == scheduled
    beat.run(DAY)
    [scheduled] = replay(api, "GET", "/api/scheduled")["data"]
    assert (scheduled["templateId"], scheduled["step"], scheduled["sourceId"]) == ("tips-and-tricks", 3, "onboarding")
    beat.run(3 * DAY)
    assert mailed("alice@example.com") == ["welcome-email", "getting-started", "tips-and-tricks"]
    [enrolment] = replay(api, "GET", "/api/sequences/onboarding/enrolments")["data"]
    assert enrolment["status"] == "completed" and enrolment["endedAt"] is not None


# API_REFERENCE, "Errors": VALIDATION_ERROR for missing required fields or an invalid YAML definition.
@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"definition": None},
        {"definition": "steps:\n  - send: welcome-email\n - delay: 1d"},
        {"id": "another-id"},  # "Must match the path parameter."
    ],
)
def test_the_api_references_validation_errors(api, templates, change):
    body = {key: value for key, value in {**PUT_ONBOARDING, **change}.items() if value is not None}
    refused = replay(api, "PUT", "/api/sequences/onboarding", body, 400)
    assert refused["error"]["code"] == "VALIDATION_ERROR"


# SDK_REFERENCE, "create", "get" and "list" (with and without status: 'active'). The SDK's create
# says CONFLICT when the id exists; the API reference's PUT (which the SDK calls) is an idempotent
# upsert, and our contract (docs/api.md 8) follows the API reference: a second create updates it.
def test_the_sdks_create_get_and_list(api, beat):
    for slug in ("tmpl_welcome", "tmpl_getting_started"):
        TemplateFactory(organisation=api.organisation, slug=slug)
    created = replay(api, "PUT", "/api/sequences/seq_onboarding", SDK_CREATE, 201)
    assert_shape(created, SEQUENCE_OBJECT)
    assert created["definition"] == SDK_CREATE["definition"]  # as sent: the JSON text
    assert created["triggers"] == [{"event": "signed_up"}]  # Kraiter's trigger object
    got = replay(api, "GET", "/api/sequences/seq_onboarding")
    assert (got["name"], got["status"]) == ("Onboarding Drip", "draft")
    replay(
        api, "PUT", "/api/sequences/drafted", {"name": "Drafted", "definition": "steps: [{send: tmpl_welcome}]"}, 201
    )
    assert [s["id"] for s in replay(api, "GET", "/api/sequences")["data"]] == ["drafted", "seq_onboarding"]
    replay(api, "POST", "/api/sequences/seq_onboarding/activate")
    assert [s["id"] for s in replay(api, "GET", "/api/sequences?status=active")["data"]] == ["seq_onboarding"]

    replay(api, "POST", "/api/events", {"name": "signed_up", "email": "alice@example.com"}, 201)
    beat.run()
    assert mailed("alice@example.com") == ["tmpl_welcome"]  # delay: '0d', at once
    beat.run(2 * DAY - timedelta(minutes=1))
    assert Send.objects.count() == 1
    beat.run(timedelta(minutes=1))
    assert mailed("alice@example.com") == ["tmpl_welcome", "tmpl_getting_started"]

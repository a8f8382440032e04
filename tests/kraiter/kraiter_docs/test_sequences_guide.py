"""https://www.kraiter.com/docs/guides/sequences, replayed: each example sent as the page prints it
(the SDK's calls as the REST requests they make), then run with the clock moved forward, checking
what the page says happens: which emails, when, and who leaves the sequence."""

from datetime import datetime, timedelta

import pytest

from sends.models import Send
from tests.factories import TemplateFactory
from tests.kraiter.kraiter_docs.replay import assert_shape, replay

GUIDE = "https://www.kraiter.com/docs/guides/sequences"
DAY = timedelta(days=1)

# "Creating a sequence": kraiter.sequences.create({name: 'onboarding', definition: `...`}), the
# definition exactly as the template literal holds it (leading newline and trailing indent included).
# The SDK names no id here; the REST call is the API reference's PUT /api/sequences/:id, so the
# page's name is used as the id.
CREATING_A_SEQUENCE = """
trigger:
  event: signup.completed

steps:
  - action: email
    template: welcome-email
  - action: delay
    duration: 1d
  - action: email
    template: getting-started
  - action: delay
    duration: 3d
  - action: condition
    property: contact.properties.hasCompletedOnboarding
    operator: equals
    value: true
    onTrue: exit
  - action: email
    template: onboarding-reminder
  """

# The sequence object as https://www.kraiter.com/docs/api-reference/sequences prints it.
SEQUENCE_OBJECT = {
    "id": "onboarding",
    "name": "Onboarding Sequence",
    "status": "draft",
    "definition": "steps:\n  - send: welcome-email\n",
    "triggers": [{"event": "signed_up"}],
    "createdAt": "2025-09-10T08:00:00.000Z",
    "updatedAt": "2025-09-15T14:00:00.000Z",
}


def instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def mailed(email: str) -> list[str]:
    return list(Send.objects.filter(email=email).order_by("id").values_list("template_slug", flat=True))


def put_and_activate(api, slug: str, definition: str, name: str | None = None) -> dict:
    body = replay(
        api, "PUT", f"/api/sequences/{slug}", {"id": slug, "name": name or slug, "definition": definition}, 201
    )
    assert replay(api, "POST", f"/api/sequences/{slug}/activate")["status"] == "active"
    return body


@pytest.fixture
def reminder(api, templates):
    TemplateFactory(organisation=api.organisation, slug="onboarding-reminder", name="Onboarding reminder")


# GUIDE, "Creating a sequence" and "Condition step": the onboarding flow, run for two contacts; the one
# who completes onboarding leaves at the condition (onTrue: exit), the other gets the reminder.
def test_the_guides_onboarding_sequence_runs_as_the_guide_describes(api, reminder, beat):
    created = put_and_activate(api, "onboarding", CREATING_A_SEQUENCE, name="onboarding")
    assert_shape(created, SEQUENCE_OBJECT)
    assert created["definition"] == CREATING_A_SEQUENCE  # returned as it was sent
    assert created["triggers"] == [{"event": "signup.completed"}]
    for email in ("alice@example.com", "bob@example.com"):
        # "Event-based trigger — Enrols contacts automatically when a matching event is tracked"
        replay(api, "POST", "/api/events", {"email": email, "event": "signup.completed"}, 201)
    beat.run()
    assert mailed("alice@example.com") == mailed("bob@example.com") == ["welcome-email"]
    enrolments = replay(api, "GET", "/api/sequences/onboarding/enrolments?status=active")["data"]
    assert sorted(e["email"] for e in enrolments) == ["alice@example.com", "bob@example.com"]
    [scheduled, _] = replay(api, "GET", "/api/scheduled")["data"]
    # the delay step: the next email a day after the first
    assert (scheduled["templateId"], scheduled["step"]) == ("getting-started", 2)
    first = Send.objects.get(email=scheduled["email"])
    assert instant(scheduled["scheduledFor"]) - first.created_at == pytest.approx(DAY, abs=timedelta(seconds=5))

    beat.run(DAY)
    assert mailed("alice@example.com") == mailed("bob@example.com") == ["welcome-email", "getting-started"]
    # The contacts guide's contacts.update('alice@example.com', ...): addressed by email
    replay(api, "PATCH", "/api/contacts/alice%40example.com", {"properties": {"hasCompletedOnboarding": True}})
    beat.run(3 * DAY - timedelta(minutes=1))
    assert mailed("bob@example.com") == ["welcome-email", "getting-started"]  # the 3d delay is not over
    beat.run(timedelta(minutes=1))
    assert mailed("alice@example.com") == ["welcome-email", "getting-started"]
    assert mailed("bob@example.com") == ["welcome-email", "getting-started", "onboarding-reminder"]
    [alice] = replay(api, "GET", "/api/contacts/alice%40example.com/enrolments")["data"]
    assert (alice["status"], alice["endedReason"]) == ("exited", "condition at step 5")
    [bob] = replay(api, "GET", "/api/contacts/bob%40example.com/enrolments")["data"]
    assert (bob["status"], bob["currentStep"]) == ("completed", 6)
    assert replay(api, "GET", "/api/scheduled")["data"] == []


# GUIDE, "Trigger": `trigger: event: purchase.completed` enrols on that event; `trigger: api: true`
# enrols nobody automatically, only through the API.
def test_an_event_trigger_enrols_and_an_api_trigger_does_not(api, templates, beat):
    put_and_activate(api, "buyers", "trigger:\n  event: purchase.completed\nsteps:\n  - send: welcome-email\n")
    put_and_activate(api, "manual", "trigger:\n  api: true\nsteps:\n  - send: getting-started\n")
    replay(api, "POST", "/api/events", {"email": "alice@example.com", "event": "purchase.completed"}, 201)
    beat.run()
    assert mailed("alice@example.com") == ["welcome-email"]
    assert replay(api, "GET", "/api/sequences/manual/enrolments")["data"] == []
    enrolment = replay(api, "POST", "/api/sequences/manual/enrol", {"email": "alice@example.com"}, 201)
    assert (enrolment["sequenceId"], enrolment["status"]) == ("manual", "active")
    beat.run()
    assert mailed("alice@example.com") == ["welcome-email", "getting-started"]


# GUIDE, "Delay step" and its table of duration units: 30m, 2h, 3d, 1w.
@pytest.mark.parametrize(
    ("duration", "wait"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("3d", 3 * DAY), ("1w", timedelta(weeks=1))],
)
def test_each_duration_unit_of_the_guide_delays_the_next_email_by_that_much(api, templates, beat, duration, wait):
    steps = f"steps:\n- action: email\n  template: welcome-email\n- action: delay\n  duration: {duration}\n"
    put_and_activate(api, "paced", steps + "- action: email\n  template: getting-started\n")
    enrolment = replay(api, "POST", "/api/sequences/paced/enrol", {"email": "alice@example.com"}, 201)
    beat.run()
    [scheduled] = replay(api, "GET", "/api/scheduled")["data"]
    assert instant(scheduled["scheduledFor"]) - instant(enrolment["enrolledAt"]) == pytest.approx(
        wait, abs=timedelta(seconds=5)
    )
    beat.run(wait - timedelta(seconds=10))
    assert mailed("alice@example.com") == ["welcome-email"]
    beat.run(timedelta(seconds=10))
    assert mailed("alice@example.com") == ["welcome-email", "getting-started"]


# GUIDE, "Email step": "The template must exist before the sequence is activated." We check it
# earlier, at PUT (docs/api.md 8; the SDK reference's create also answers VALIDATION_ERROR for it).
def test_an_email_step_naming_no_template_is_refused(api, templates):
    body = {"id": "typo", "name": "typo", "definition": "steps:\n  - action: email\n    template: welcome-emial\n"}
    refused = replay(api, "PUT", "/api/sequences/typo", body, 400)
    assert refused["error"]["code"] == "VALIDATION_ERROR" and "welcome-emial" in refused["error"]["message"]

"""Sequences as Kraiter's guides write them (docs/api.md 8): trigger conditions, exit conditions,
jumps and loops, and the SDK's JSON definition, each run end to end with the clock moved forward."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Event
from scheduling.models import Enrolment, ScheduledSend
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, Send
from tests.openapi import assert_matches_schema
from tests.scheduling.conftest import enrol

DAY = timedelta(days=1)


def sequence(api, definition, slug="onboarding", **body):
    response = api.put(f"/api/sequences/{slug}", {"name": slug, "definition": definition, **body})
    assert response.status_code == 201, response.content
    assert api.post(f"/api/sequences/{slug}/activate").status_code == 200, "activate"
    return response.json()


def mailed(email: str) -> list[str]:
    return list(Send.objects.filter(email=email).order_by("id").values_list("template_slug", flat=True))


def event(api, name, email, **properties):
    response = api.post("/api/events", {"name": name, "email": email, "properties": properties})
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def react():
    from scheduling.reactions import react_until_idle

    return react_until_idle


# --- trigger conditions ---------------------------------------------------------------------------


def test_a_trigger_enrols_only_contacts_whose_conditions_hold(api, templates, timeline, react):
    body = sequence(
        api,
        "steps: [{send: welcome-email}]",
        triggers=[
            {
                "event": "purchase",
                "conditions": [
                    {"property": "event.properties.amount", "operator": "greaterThanOrEquals", "value": 100},
                    {"property": "contact.properties.plan", "operator": "equals", "value": "pro"},
                ],
            }
        ],
    )
    assert body["triggers"][0]["event"] == "purchase" and len(body["triggers"][0]["conditions"]) == 2
    api.post("/api/contacts", {"email": "pro@example.com", "properties": {"plan": "pro"}})
    api.post("/api/contacts", {"email": "free@example.com", "properties": {"plan": "free"}})
    small = event(api, "purchase", "pro@example.com", amount=50)
    event(api, "purchase", "free@example.com", amount=500)
    big = event(api, "purchase", "pro@example.com", amount=150)
    assert react() == 3
    assert [e.contact.email for e in Enrolment.objects.all()] == ["pro@example.com"]
    timeline.run()
    assert mailed("pro@example.com") == ["welcome-email"] and mailed("free@example.com") == []
    # Why the contact was not enrolled is kept on the event (the admin shows it)
    note = Event.objects.get(pk=small["id"]).reaction_notes
    assert "onboarding: not enrolled, its trigger's conditions do not hold" in note[0]
    assert "event.properties.amount greaterThanOrEquals 100" in note[0]
    assert Event.objects.get(pk=big["id"]).reaction_notes == []


def test_a_system_event_triggers_a_sequence(api, templates, organisation, timeline, react):
    sequence(api, "steps: [{send: welcome-email}]", slug="first")
    sequence(api, "trigger: {event: email.clicked}\nsteps: [{send: tips-and-tricks}]", slug="clickers")
    enrol(api, "clicker@example.com", sequence="first")
    timeline.run()
    [send] = Send.objects.all()
    engagement_record(EngagementFact(EngagementKind.CLICKED, timezone.now(), send_id=send.id, url="https://x.test"))
    react()
    timeline.run()
    assert mailed("clicker@example.com") == ["welcome-email", "tips-and-tricks"]


# --- exit conditions ------------------------------------------------------------------------------

EXITING = """
trigger: {event: signed_up}
exitConditions:
  - {property: event.purchased, operator: exists}
  - {property: contact.properties.plan, operator: equals, value: churned}
steps:
  - send: welcome-email
  - delay: 1d
  - send: getting-started
  - delay: 1d
  - send: tips-and-tricks
"""


def test_an_event_that_matches_an_exit_condition_ends_the_enrolment_at_once(api, templates, timeline, react):
    sequence(api, EXITING)
    enrolment = enrol(api, "buyer@example.com")
    timeline.run()
    assert ScheduledSend.objects.count() == 1  # getting-started, tomorrow
    event(api, "purchased", "buyer@example.com", amount=10)
    react()
    ended = Enrolment.objects.get(pk=enrolment["id"])
    assert ended.status == "exited" and ended.ended_at is not None
    assert ended.ended_reason == "exit condition 1: event.purchased exists"
    assert ScheduledSend.objects.count() == 0  # its pending email cancelled
    timeline.run(3 * DAY)
    assert mailed("buyer@example.com") == ["welcome-email"]


def test_a_property_change_that_matches_an_exit_condition_ends_the_enrolment(api, templates, timeline, react):
    sequence(api, EXITING)
    enrolment = enrol(api, "leaver@example.com", plan="pro")
    timeline.run()
    contact = Contact.objects.get(email="leaver@example.com")
    assert api.patch(f"/api/contacts/{contact.id}", {"properties": {"plan": "churned"}}).status_code == 200
    react()  # the change is a contact.updated event
    assert Enrolment.objects.get(pk=enrolment["id"]).ended_reason.startswith("exit condition 2")
    assert ScheduledSend.objects.count() == 0


def test_exit_conditions_are_checked_again_before_every_step(api, templates, timeline):
    sequence(api, EXITING)
    enrolment = enrol(api, "quiet@example.com", plan="pro")
    timeline.run()
    # Changed without any event (as an import or the admin might): the dispatcher sees it when due
    Contact.objects.filter(email="quiet@example.com").update(properties={"plan": "churned"})
    timeline.run(DAY)
    assert mailed("quiet@example.com") == ["welcome-email"]
    assert Enrolment.objects.get(pk=enrolment["id"]).status == "exited"


def test_an_event_before_the_enrolment_does_not_exit_it(api, templates, timeline, react):
    sequence(api, EXITING)
    event(api, "purchased", "early@example.com")
    react()
    enrol(api, "early@example.com")
    timeline.run()
    react()
    timeline.run(DAY)
    assert mailed("early@example.com") == ["welcome-email", "getting-started"]


# --- jumps and loops ------------------------------------------------------------------------------

BRANCHING = """
steps:
  - send: welcome-email
  - delay: 1d
  - action: condition
    property: contact.properties.plan
    operator: equals
    value: pro
    onTrue: pro-tips          # a step's id
    onFalse: continue
  - send: getting-started
  - delay: 2d
  - id: pro-tips
    send: tips-and-tricks
"""


def test_a_condition_jumps_to_the_step_it_names(api, templates, timeline):
    sequence(api, BRANCHING)
    enrol(api, "pro@example.com", plan="pro")
    enrol(api, "free@example.com", plan="free")
    timeline.run()
    assert timeline.run(DAY) == 2
    assert mailed("pro@example.com") == ["welcome-email", "tips-and-tricks"]  # jumped over the rest
    assert mailed("free@example.com") == ["welcome-email", "getting-started"]
    timeline.run(2 * DAY)
    assert mailed("free@example.com") == ["welcome-email", "getting-started", "tips-and-tricks"]
    assert set(Enrolment.objects.values_list("status", flat=True)) == {"completed"}


def test_a_condition_is_evaluated_when_the_contact_reaches_it_not_when_the_next_email_is_due(api, templates, timeline):
    definition = """
steps:
  - send: welcome-email
  - delay: 1d
  - {action: condition, property: contact.properties.plan, operator: equals, value: pro, onTrue: 6}
  - delay: 3d
  - send: getting-started
  - send: tips-and-tricks
"""
    sequence(api, definition)
    enrol(api, "later@example.com", plan="pro")
    timeline.run()
    assert timeline.run(DAY) == 1  # the condition, a day in: true, so tips now, not after the 3 days
    assert mailed("later@example.com") == ["welcome-email", "tips-and-tricks"]
    enrol(api, "free@example.com", plan="free")
    timeline.run()
    timeline.run(DAY)
    assert mailed("free@example.com") == ["welcome-email"]  # the 3 days start after the condition
    timeline.run(3 * DAY)
    timeline.run()  # the next tick: an email right after another is due at once
    assert mailed("free@example.com") == ["welcome-email", "getting-started", "tips-and-tricks"]


def test_a_loop_through_a_delay_repeats_until_its_condition_ends_it(api, templates, timeline):
    definition = """
steps:
  - id: nudge
    send: welcome-email
  - delay: 1d
  - {action: condition, property: contact.properties.activated, operator: equals, value: true, onTrue: exit, onFalse: nudge}
"""
    sequence(api, definition)
    enrolment = enrol(api, "slow@example.com")
    timeline.run()
    timeline.run(DAY)
    timeline.run(DAY)
    assert mailed("slow@example.com") == ["welcome-email"] * 3  # the same step, three sends
    Contact.objects.filter(email="slow@example.com").update(properties={"activated": True})
    timeline.run(DAY)
    assert mailed("slow@example.com") == ["welcome-email"] * 3
    ended = Enrolment.objects.get(pk=enrolment["id"])
    assert (ended.status, ended.ended_reason) == ("exited", "condition at step 3")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            "[{id: a, send: welcome-email}, {action: condition, property: contact.email, operator: exists, onTrue: a}]",
            "the steps loop without a delay: step 1 → step 2 → step 1",
        ),
        (
            "[{send: welcome-email}, {action: condition, property: contact.email, operator: exists, onFalse: 1}]",
            "the steps loop without a delay: step 1 → step 2 → step 1",
        ),
        ("[{send: welcome-email}, {action: condition, property: contact.email, operator: exists, onTrue: 9}]",
         "step 2: 'onTrue' names step 9, and there are 2 steps"),
        ("[{send: welcome-email}, {action: condition, property: contact.email, operator: exists, onTrue: 2}]",
         "step 2: 'onTrue' jumps to the condition itself"),
        ("[{id: a, send: welcome-email}, {id: a, send: welcome-email}]", "two steps have the same id"),
    ],
)  # fmt: skip
def test_jumps_that_cannot_work_are_refused_at_put(api, templates, steps, message):
    response = api.put("/api/sequences/bad", {"name": "Bad", "definition": f"steps: {steps}"})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


# --- the SDK's JSON definition --------------------------------------------------------------------

SDK_DEFINITION = {
    "steps": [
        {"type": "email", "templateId": "welcome-email"},
        {"type": "delay", "duration": "1d"},
        {"type": "condition", "property": "contact.properties.plan", "operator": "not_equals", "value": "pro",
         "onTrue": "continue", "onFalse": "exit"},
        {"type": "email", "templateId": "getting-started", "delay": "2h"},
    ]
}  # fmt: skip


def test_the_sdks_json_definition_runs_and_is_returned_as_sent(api, templates, timeline, react):
    body = sequence(api, SDK_DEFINITION, triggers=[{"type": "event", "eventName": "signed_up"}])
    assert body["definition"] == SDK_DEFINITION and body["triggers"] == [{"event": "signed_up"}]
    stored = api.get("/api/sequences/onboarding")
    assert_matches_schema(stored, "GET", "/api/sequences/onboarding")
    assert stored.json()["definition"] == SDK_DEFINITION
    event(api, "signed_up", "sdk@example.com")
    react()
    timeline.run()
    timeline.run(DAY)
    assert mailed("sdk@example.com") == ["welcome-email"]  # the email's own 2h wait comes after the condition
    timeline.run(timedelta(hours=2))
    assert mailed("sdk@example.com") == ["welcome-email", "getting-started"]


def test_triggers_may_be_names_objects_or_the_sdks_shape_and_are_returned_as_objects(api, templates):
    body = sequence(
        api,
        "trigger: signed_up\nsteps: [{send: welcome-email}]",
        triggers=["trial_started", {"type": "event", "eventName": "paid"}, {"event": "signed_up"}],
    )
    assert body["triggers"] == [{"event": "signed_up"}, {"event": "trial_started"}, {"event": "paid"}]


@pytest.mark.parametrize(
    ("triggers", "message"),
    [
        ([{"type": "schedule", "cron": "* * * * *"}], "trigger 1: the only trigger type is event"),
        ([{"event": "x", "filter": 1}], "trigger 1: unknown field(s) filter"),
        ([5], "A trigger is an event name or {event, conditions?}"),
        ([{"event": "x", "conditions": [{"property": "contact.properties.a", "operator": "near"}]}],
         "trigger 1: conditions[0]: 'operator' must be one of"),
    ],
)  # fmt: skip
def test_bad_triggers_are_refused_with_where(api, templates, triggers, message):
    response = api.put(
        "/api/sequences/bad", {"name": "Bad", "definition": "steps: [{send: welcome-email}]", "triggers": triggers}
    )
    assert response.status_code == 400
    assert message in str(response.json()["error"])

"""The dispatcher and /api/scheduled (docs/api.md; seed 002 in docs/seeds/): sequences run end to end with time moved forward."""

import gc
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from scheduling.dispatcher import dispatch_due_scheduled_sends, dispatch_until_idle
from scheduling.models import Enrolment, ScheduledSend
from sends.models import Send
from tests.conftest import run_concurrently
from tests.factories import ContactFactory, TemplateFactory
from tests.openapi import assert_matches_schema
from tests.scheduling.conftest import enrol

DAY = timedelta(days=1)


def scheduled(api, path="/api/scheduled") -> list[dict]:
    response = api.get(path)
    assert response.status_code == 200
    assert_matches_schema(response, "GET", path)
    return response.json()["data"]


def sends(api) -> list[dict]:
    return list(reversed(api.get("/api/sends?source=sequence&limit=100").json()["data"]))


def test_the_seed_example_runs_end_to_end(api, onboarding, timeline):
    enrolment = enrol(api, "alice@example.com", firstName="Alice")
    [first] = scheduled(api)
    assert (first["templateId"], first["step"], first["sourceId"], first["source"]) == (
        "welcome-email", 1, "onboarding", "sequence",
    )  # fmt: skip
    assert first["subject"] == "Welcome, {{ firstName }}!"  # unrendered, as the seed says

    assert timeline.run() == 1  # welcome: now
    [welcome] = sends(api)
    assert (welcome["templateId"], welcome["step"], welcome["subject"]) == ("welcome-email", 1, "Welcome, Alice!")
    [pending] = scheduled(api)
    assert (pending["templateId"], pending["templateName"], pending["step"]) == (
        "getting-started", "Getting Started Guide", 2,
    )  # fmt: skip
    due = timezone.now() + DAY
    assert abs((datetime.fromisoformat(pending["scheduledFor"]) - due).total_seconds()) < 5

    assert timeline.run(DAY - timedelta(minutes=1)) == 0  # not yet
    assert timeline.run(timedelta(minutes=1)) == 1  # getting-started: a day later
    assert [s["step"] for s in sends(api)] == [1, 2]
    [pending] = scheduled(api)
    assert (pending["templateId"], pending["step"]) == ("tips-and-tricks", 3)

    assert timeline.run(3 * DAY) == 1  # tips: three more days
    assert [(s["templateId"], s["step"]) for s in sends(api)] == [
        ("welcome-email", 1), ("getting-started", 2), ("tips-and-tricks", 3),
    ]  # fmt: skip
    assert scheduled(api) == []
    finished = Enrolment.objects.get(pk=enrolment["id"])
    assert (finished.status, finished.current_step) == ("completed", 5)
    assert all(s["status"] == "queued" and s["sourceId"] == "onboarding" for s in sends(api))


def test_a_row_due_exactly_now_is_sent_and_one_a_millisecond_later_is_not(organisation, api, onboarding):
    enrol(api, "edge@example.com")
    row = ScheduledSend.objects.get()
    assert dispatch_due_scheduled_sends(now=row.scheduled_for - timedelta(milliseconds=1)) == 0
    assert dispatch_due_scheduled_sends(now=row.scheduled_for) == 1
    assert Send.objects.count() == 1


def test_scheduled_list_is_earliest_first_with_a_two_part_cursor(api, onboarding, timeline):
    for n in range(5):
        enrol(api, f"p{n}@example.com")
        timeline.clock.advance(timedelta(seconds=1))
    ScheduledSend.objects.filter(contact__email="p3@example.com").update(scheduled_for=timezone.now() - DAY)
    page = api.get("/api/scheduled?limit=2").json()
    emails = [s["email"] for s in page["data"]]
    assert emails == ["p3@example.com", "p0@example.com"]
    rest = api.get(f"/api/scheduled?limit=10&cursor={page['nextCursor']}").json()
    assert [s["email"] for s in rest["data"]] == ["p1@example.com", "p2@example.com", "p4@example.com"]


def test_get_one_and_404_once_sent(api, onboarding, timeline):
    enrol(api, "one@example.com")
    scheduled_id = scheduled(api)[0]["id"]
    response = api.get(f"/api/scheduled/{scheduled_id}")
    assert response.status_code == 200
    assert_matches_schema(response, "GET", f"/api/scheduled/{scheduled_id}")
    timeline.run()
    gone = api.get(f"/api/scheduled/{scheduled_id}")
    assert gone.status_code == 404 and "sent or cancelled" in gone.json()["error"]["message"]
    assert api.get("/api/scheduled/sch_bad").status_code == 400


def test_a_contacts_scheduled_sends(api, other_api, onboarding):
    alice = enrol(api, "alice@example.com")["contactId"]
    enrol(api, "bob@example.com")
    [mine] = scheduled(api, f"/api/contacts/{alice}/scheduled")
    assert mine["contactId"] == alice
    assert other_api.get(f"/api/contacts/{alice}/scheduled").status_code == 404
    assert other_api.get("/api/scheduled").json()["data"] == []


@pytest.mark.parametrize(
    "opt_out",
    [
        lambda api, contact_id: api.patch(f"/api/contacts/{contact_id}", {"unsubscribed": True}),
        lambda api, contact_id: api.patch(f"/api/contacts/{contact_id}", {"suppressed": True}),
        lambda api, contact_id: api.delete(f"/api/contacts/{contact_id}"),
    ],
    ids=["unsubscribed", "suppressed", "deleted"],
)
def test_cancellation_when_the_contact_goes_away(api, onboarding, timeline, opt_out):
    enrolment = enrol(api, "leaver@example.com")
    timeline.run()
    assert len(scheduled(api)) == 1
    opt_out(api, enrolment["contactId"])
    assert scheduled(api) == []
    assert timeline.run(10 * DAY) == 0
    assert len(sends(api)) == 1
    left = Enrolment.objects.filter(pk=enrolment["id"]).first()
    assert left is None or left.status == "cancelled"


def test_a_contact_opted_out_behind_the_services_back_is_cancelled_at_dispatch(api, onboarding, timeline):
    enrolment = enrol(api, "quiet@example.com")
    Contact.objects.filter(pk=enrolment["contactId"]).update(suppressed=True, suppression_reason="bounced")
    assert timeline.run() == 1
    assert sends(api) == [] and scheduled(api) == []
    assert Enrolment.objects.get(pk=enrolment["id"]).status == "cancelled"


def test_delete_scheduled_cancels_it_and_ends_the_enrolment(api, onboarding, timeline):
    enrolment = enrol(api, "cancel@example.com")
    scheduled_id = scheduled(api)[0]["id"]
    assert api.delete(f"/api/scheduled/{scheduled_id}").status_code == 204
    assert api.get(f"/api/scheduled/{scheduled_id}").status_code == 404
    assert timeline.run(10 * DAY) == 0 and sends(api) == []
    assert Enrolment.objects.get(pk=enrolment["id"]).status == "cancelled"


def test_a_paused_sequence_keeps_its_due_rows_until_resumed(api, onboarding, timeline):
    enrol(api, "paused@example.com")
    api.post("/api/sequences/onboarding/pause")
    assert timeline.run(DAY) == 0
    assert len(scheduled(api)) == 1 and sends(api) == []
    api.post("/api/sequences/onboarding/activate")
    assert timeline.run() == 1
    assert len(sends(api)) == 1


def test_a_row_of_a_sequence_paused_mid_batch_is_held_not_sent(api, onboarding, timeline):
    enrol(api, "race@example.com")
    api.post("/api/sequences/onboarding/pause")
    ScheduledSend.objects.update(held=False)  # as if written by a dispatcher that had not seen the pause
    assert timeline.run() == 1
    assert sends(api) == [] and ScheduledSend.objects.get().held is True


def test_conditions_exit_or_continue_when_the_email_is_due(api, templates, timeline):
    definition = """
steps:
  - send: welcome-email
  - delay: 1d
  - action: condition
    property: contact.properties.plan
    operator: equals
    value: pro
    onTrue: exit
  - send: getting-started
"""
    api.put("/api/sequences/upsell", {"name": "Upsell", "definition": definition})
    api.post("/api/sequences/upsell/activate")
    free = enrol(api, "free@example.com", sequence="upsell", plan="free")
    pro = enrol(api, "pro@example.com", sequence="upsell", plan="free")
    timeline.run()
    api.patch(f"/api/contacts/{pro['contactId']}", {"properties": {"plan": "pro"}})  # upgraded meanwhile
    timeline.run(DAY)
    second = [s["email"] for s in sends(api) if s["step"] == 2]
    assert second == ["free@example.com"]
    assert Enrolment.objects.get(pk=pro["id"]).status == "exited"
    assert Enrolment.objects.get(pk=free["id"]).status == "completed"


def test_event_conditions_count_events_since_enrolment(api, templates, timeline):
    definition = """
steps:
  - send: welcome-email
  - delay: 2h
  - action: condition
    property: event.activated
    operator: exists
    onTrue: exit
  - send: getting-started
"""
    api.put("/api/sequences/nudge", {"name": "Nudge", "definition": definition})
    api.post("/api/sequences/nudge/activate")
    active = api.post("/api/contacts", {"email": "active@example.com"}).json()["id"]
    api.post("/api/events", {"name": "activated", "contactId": active, "timestamp": "2020-01-01"})  # long before
    enrol(api, "active@example.com", sequence="nudge")
    enrol(api, "idle@example.com", sequence="nudge")
    timeline.run()
    api.post("/api/events", {"name": "activated", "contactId": active})
    timeline.run(timedelta(hours=2))
    assert [s["email"] for s in sends(api) if s["step"] == 2] == ["idle@example.com"]


def test_a_template_deleted_after_enrolment_is_recorded_and_the_sequence_goes_on(api, onboarding, timeline):
    enrol(api, "gap@example.com")
    timeline.run()
    api.post("/api/sequences/onboarding/pause")
    assert api.delete("/api/templates/getting-started").status_code == 204
    ScheduledSend.objects.update(held=False)  # resume without re-checking templates, as a raw resume would
    from scheduling.models import Sequence

    Sequence.objects.update(status="active")
    timeline.run(DAY)
    step_two = next(s for s in sends(api) if s["step"] == 2)
    assert step_two["status"] == "rejected" and step_two["templateId"] == "getting-started"
    assert "deleted" in Send.objects.get(pk=step_two["id"]).rejection_reason
    [next_one] = scheduled(api)
    assert next_one["templateId"] == "tips-and-tricks"


def test_editing_a_sequence_leaves_running_enrolments_on_their_version(api, onboarding, templates, timeline):
    """The rule: a changed definition applies to new enrolments; enrolled contacts finish the
    version they started."""
    enrol(api, "old@example.com")
    timeline.run()
    shorter = "steps:\n  - send: welcome-email\n  - delay: 1h\n  - send: tips-and-tricks\n"
    assert api.put("/api/sequences/onboarding", {"name": "Onboarding", "definition": shorter}).status_code == 200
    enrol(api, "new@example.com")
    timeline.run()
    timeline.run(timedelta(hours=1))
    by_contact = {}
    for send in sends(api):
        by_contact.setdefault(send["email"], []).append(send["templateId"])
    assert by_contact["new@example.com"] == ["welcome-email", "tips-and-tricks"]
    assert by_contact["old@example.com"] == ["welcome-email"]
    timeline.run(DAY)
    assert by_contact_after(api)["old@example.com"] == ["welcome-email", "getting-started"]


def by_contact_after(api) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for send in sends(api):
        result.setdefault(send["email"], []).append(send["templateId"])
    return result


def test_a_dispatcher_that_dies_mid_batch_leaves_nothing_half_done(api, onboarding, timeline):
    for n in range(3):
        enrol(api, f"crash{n}@example.com")
    # killed after the sends are written, as it writes the enrolments' next scheduled sends
    killed = mock.patch("scheduling.dispatcher.save_new", side_effect=RuntimeError("killed"))
    with killed, pytest.raises(RuntimeError):
        timeline.run()
    assert Send.objects.count() == 0 and ScheduledSend.objects.count() == 3
    assert set(Enrolment.objects.values_list("current_step", flat=True)) == {1}
    assert timeline.run() == 3
    assert Send.objects.count() == 3 and ScheduledSend.objects.count() == 3


def test_the_cycle_collector_waits_for_a_batch_and_runs_again_after_it(api, onboarding, timeline):
    """The dispatcher pauses Python's cycle collector for a batch (it scanned the batch's objects
    again and again): on again after the batch, and after a batch that failed."""
    from scheduling import dispatcher

    enrol(api, "gc@example.com")
    during, real = [], dispatcher._dispatch_row
    with mock.patch("scheduling.dispatcher._dispatch_row", lambda *a: during.append(gc.isenabled()) or real(*a)):
        assert timeline.run() == 1
    assert during == [False] and gc.isenabled()
    enrol(api, "gc2@example.com")
    with (
        mock.patch("scheduling.dispatcher._dispatch_row", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        timeline.run()
    assert gc.isenabled()


def test_the_database_refuses_a_second_send_for_a_scheduled_send(api, onboarding, timeline):
    enrol(api, "once@example.com")
    timeline.run()
    send = Send.objects.get()
    assert send.scheduled_id.startswith("sch_")  # the scheduled send it was made from (now gone)
    with pytest.raises(IntegrityError), transaction.atomic():
        Send.objects.create(
            organisation=send.organisation, contact=send.contact, email=send.email, template_slug="x",
            template_name="x", subject="x", enrolment_id=send.enrolment_id, step=send.step,
            scheduled_id=send.scheduled_id,
        )  # fmt: skip


def statements(queries) -> list[str]:
    """The SQL run, without the savepoints the test's own transaction adds around atomic blocks."""
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_an_idle_dispatcher_costs_one_query(db, query_count):
    with query_count() as queries:
        assert dispatch_due_scheduled_sends() == 0
    [probe] = [q["sql"] for q in queries.captured_queries]  # not even a transaction
    assert "scheduling_scheduledsend" in probe and "LIMIT 1" in probe.upper()


def test_a_batch_costs_the_same_number_of_queries_whatever_its_size(api, templates, query_count):
    api.put(
        "/api/sequences/s",
        {"name": "S", "definition": "steps: [{send: welcome-email}, {delay: 1d}, {send: tips-and-tricks}]"},
    )
    api.post("/api/sequences/s/activate")
    counts = []
    for size in (2, 20):
        for n in range(size):
            enrol(api, f"q{size}-{n}@example.com", sequence="s")
        with query_count() as queries:
            assert dispatch_due_scheduled_sends() == size
        counts.append(len(statements(queries)))
    assert counts[0] == counts[1], counts


def test_after_a_full_batch_the_next_one_claims_without_probing_first(api, templates, query_count):
    """The probe keeps an idle tick to one query; after a full batch the next claim answers it."""
    api.put("/api/sequences/one", {"name": "One", "definition": "steps: [{send: welcome-email}]"})
    api.post("/api/sequences/one/activate")
    for n in range(5):
        enrol(api, f"p{n}@example.com", sequence="one")
    with query_count() as queries:
        assert dispatch_until_idle(batch_size=2) == 5  # batches of 2, 2 and 1
    probes = [sql for sql in statements(queries) if 'AS "a" FROM "scheduling_scheduledsend"' in sql]
    assert len(probes) == 1 and Send.objects.count() == 5
    with query_count() as queries:
        assert dispatch_until_idle(batch_size=2) == 0
    assert len(statements(queries)) == 1  # idle: the probe alone


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_every_row_exactly_once(organisation, templates):
    from scheduling.services import enrolment_create, sequence_activate, sequence_upsert

    sequence, _ = sequence_upsert(
        organisation=organisation, slug="burst", name="Burst", definition="steps: [{send: welcome-email}]"
    )
    sequence = sequence_activate(sequence=sequence)
    for n in range(300):
        enrolment_create(
            sequence=sequence, contact=ContactFactory(organisation=organisation, email=f"b{n}@example.com")
        )

    def dispatcher(index: int) -> None:
        while dispatch_due_scheduled_sends(batch_size=25):
            pass

    run_concurrently(dispatcher, 3)
    assert Send.objects.count() == 300
    assert Send.objects.values("enrolment_id").distinct().count() == 300
    assert not ScheduledSend.objects.exists()
    assert set(Enrolment.objects.values_list("status", flat=True)) == {"completed"}


def test_the_management_command_dispatches(api, onboarding, capsys):
    from django.core.management import call_command

    enrol(api, "cmd@example.com")
    call_command("dispatch_scheduled")
    assert "Dispatched 1" in capsys.readouterr().out
    assert Send.objects.count() == 1


def test_a_template_that_hits_a_limit_for_one_contact_is_recorded_as_rejected(api, templates, timeline):
    TemplateFactory(
        organisation=api.organisation,
        slug="heavy",
        html="{% for a in items %}{% for b in items %}.{% endfor %}{% endfor %}",
    )
    api.put("/api/sequences/heavy", {"name": "Heavy", "definition": "steps: [{send: heavy}]"})
    api.post("/api/sequences/heavy/activate")
    enrol(api, "big@example.com", sequence="heavy", items=list(range(500)))
    enrol(api, "small@example.com", sequence="heavy", items=[1])
    timeline.run()
    statuses = {s["email"]: s["status"] for s in sends(api)}
    assert statuses == {"big@example.com": "rejected", "small@example.com": "queued"}


def test_a_paused_organisation_gets_no_sequence_mail(api, onboarding):
    organisation = api.organisation
    enrol(api, "ann@example.com")
    organisation.sending_status = "paused"
    organisation.save()
    dispatch_until_idle()
    [send] = Send.objects.filter(source="sequence")
    assert send.status == "rejected" and send.rejection_reason == "Sending is paused for this organisation."
    assert not Send.objects.filter(status="queued").exists()  # nothing is handed to delivery


def test_a_sequence_email_over_the_size_limit_is_recorded_as_rejected(api, templates, timeline):
    html = "<p>{% for i in (1..40) %}{{ big }}{% endfor %}</p>"
    TemplateFactory(organisation=api.organisation, slug="doubled", subject="Big", html=html)
    api.put("/api/sequences/big", {"name": "Big", "definition": "steps: [{send: doubled}]"})
    api.post("/api/sequences/big/activate")
    enrol(api, "large@example.com", sequence="big", big="x" * 60_000)  # 2.4 MB once rendered
    enrol(api, "small@example.com", sequence="big", big="x")
    timeline.run()
    outcome = {send.email: (send.status, send.rejection_reason) for send in Send.objects.all()}
    assert outcome["small@example.com"] == ("queued", None)
    status, reason = outcome["large@example.com"]
    assert status == "rejected" and "the rendered email is 2,400,010 bytes" in reason

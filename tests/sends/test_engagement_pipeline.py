"""Every source of engagement facts goes through one pipeline: the send, the contact, the
rollups and the `email.*` events agree after one pass, after the same input replayed three
times, and after the inputs shuffled."""

import random
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from contacts.models import Contact, Event
from kraiter.links import click_url, open_pixel_url, unsubscribe_url
from scheduling.models import Enrolment
from scheduling.reactions import react_until_idle
from sends import delivery
from sends.models import COUNTERS, MetricRollup, Send
from tests.factories import ContactFactory, SendFactory, TemplateFactory
from tests.openapi import assert_matches_schema
from tests.sends import ses_examples
from tests.sends.test_webhook import post


def path_of(url: str) -> str:
    return urlsplit(url).path


def at(minute: int) -> str:
    return f"2026-11-01T12:{minute:02d}:00.000Z"


def totals(organisation) -> dict[str, int]:
    rows = MetricRollup.objects.filter(organisation=organisation, scope="all")
    return {name: sum(getattr(row, name) for row in rows) for name in COUNTERS}


def event_names(send) -> list[str]:
    return sorted(Event.objects.filter(send_id=send.id).values_list("name", flat=True))


@pytest.fixture
def sent(organisation):
    contact = ContactFactory(organisation=organisation, email="una@example.com")
    return SendFactory(
        organisation=organisation, contact=contact, status="sent", ses_message_id="ses-una", attempts=1,
        sent_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC), template_slug="welcome",
    )  # fmt: skip


def ses(send, kind, minute, **extra):
    return ses_examples.event(kind, message_id=send.ses_message_id, send_id=send.id, recipient=send.email,
                              at=at(minute), **extra)  # fmt: skip


def test_each_source_records_its_event_with_the_sends_properties(client, sns, sent, organisation):
    # SES: a delivery and a permanent bounce
    assert post(client, sns.notification(ses(sent, "Delivery", 1))).status_code == 200
    assert post(client, sns.notification(ses(sent, "Bounce", 2, bounce_type="Permanent"))).status_code == 200
    # our own pixel and click
    client.get(path_of(open_pixel_url(sent.id)))
    client.get(path_of(click_url(sent.id, "https://example.com/pricing")))
    # the one-click unsubscribe
    client.post(path_of(unsubscribe_url(sent.id)))
    names = event_names(sent)
    assert names == ["email.bounced", "email.clicked", "email.delivered", "email.opened", "email.unsubscribed"]
    bounced = Event.objects.get(send_id=sent.id, name="email.bounced")
    assert bounced.properties["sendId"] == sent.id and bounced.properties["templateId"] == "welcome"
    assert bounced.properties["source"] == "transactional" and bounced.properties["sourceId"] is None
    assert bounced.properties["bounceType"] == "Permanent" and bounced.properties["bounceSubType"]
    assert "diagnosticCode" in bounced.properties
    assert Event.objects.get(send_id=sent.id, name="email.clicked").properties["url"] == "https://example.com/pricing"
    contact = Contact.objects.get(pk=sent.contact_id)
    assert contact.suppressed and contact.suppression_reason == "bounced" and contact.unsubscribed
    assert totals(organisation) | {"sent": 0} == {
        "sent": 0, "delivered": 1, "opened": 1, "clicked": 1, "bounced": 1, "complained": 0, "unsubscribed": 1,
    }  # fmt: skip


def test_repeated_opens_and_clicks_are_each_an_event_but_counted_once(client, sent, organisation):
    for _ in range(3):
        client.get(path_of(open_pixel_url(sent.id)))
        client.get(path_of(click_url(sent.id, "https://example.com/a")))
    assert Event.objects.filter(send_id=sent.id, name="email.opened").count() == 3
    assert Event.objects.filter(send_id=sent.id, name="email.clicked").count() == 3
    assert (totals(organisation)["opened"], totals(organisation)["clicked"]) == (1, 1)


def test_delivery_records_the_sent_event(organisation, settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path
    TemplateFactory(organisation=organisation, slug="receipt")
    contact = ContactFactory(organisation=organisation)
    send = SendFactory(organisation=organisation, contact=contact, template_slug="receipt", status="queued")
    from sends.models import SendContent

    SendContent.objects.create(send=send, html="<p>hi</p>", text="hi")
    assert delivery.deliver_send(send.id).outcome == "sent"
    [event] = Event.objects.filter(send_id=send.id)
    assert event.name == "email.sent" and event.contact_id == contact.id
    assert totals(organisation)["sent"] == 1


SCENARIO = [("Send", 0), ("Delivery", 1), ("Open", 2), ("Click", 3), ("Complaint", 4)]


def _state(send):
    send.refresh_from_db()
    contact = Contact.objects.get(pk=send.contact_id)
    events = sorted(Event.objects.filter(send_id=send.id).values_list("name", "timestamp"))
    return (send.status, send.delivered_at, send.opened_at, send.clicked_at, send.complained_at,
            contact.suppressed, events)  # fmt: skip


def test_replayed_and_shuffled_notifications_end_in_the_same_state_and_counts(client, sns, organisation):
    copies = []
    for name in ("once", "replayed", "shuffled"):
        contact = ContactFactory(organisation=organisation, email=f"{name}@example.com")
        copies.append(
            SendFactory(organisation=organisation, contact=contact, status="queued", ses_message_id=f"ses-{name}")
        )
    once, replayed, shuffled = copies
    for kind, minute in SCENARIO:
        post(client, sns.notification(ses(once, kind, minute)))
    notifications = [sns.notification(ses(replayed, kind, minute)) for kind, minute in SCENARIO]
    for notification in notifications * 3:  # SNS redelivers: the same MessageIds
        post(client, notification)
    shuffled_notifications = [sns.notification(ses(shuffled, kind, minute)) for kind, minute in SCENARIO] * 3
    random.Random(7).shuffle(shuffled_notifications)
    for notification in shuffled_notifications:
        post(client, notification)
    first = _state(once)
    assert _state(replayed)[:-1] == first[:-1] and _state(replayed)[-1] == first[-1]
    assert _state(shuffled)[:-1] == first[:-1]
    # SES's own Open/Click events each record an event, as ours do; everything else once
    assert [n for n, _ in _state(shuffled)[-1]].count("email.delivered") == 1
    assert totals(organisation) == {
        "sent": 3, "delivered": 3, "opened": 3, "clicked": 3, "bounced": 0, "complained": 3, "unsubscribed": 0,
    }  # fmt: skip


def test_a_sequence_triggered_by_email_clicked_enrols_the_clicker(api, client, organisation):
    TemplateFactory(organisation=organisation, slug="follow-up")
    definition = "trigger: {event: email.clicked}\nsteps:\n  - send: follow-up"
    api.put("/api/sequences/clicked", {"id": "clicked", "name": "Clicked", "definition": definition})
    assert api.post("/api/sequences/clicked/activate").status_code == 200
    contact = ContactFactory(organisation=organisation)
    send = SendFactory(organisation=organisation, contact=contact, status="delivered", sent_at=datetime.now(UTC))
    client.get(path_of(click_url(send.id, "https://example.com/offer")))
    react_until_idle()
    [enrolment] = Enrolment.objects.filter(contact=contact)
    assert enrolment.sequence_slug == "clicked" and enrolment.status == "active"


def test_events_api_lists_filters_and_reads_system_events(api, other_api, client, sent):
    client.get(path_of(open_pixel_url(sent.id)))
    api.post("/api/events", {"name": "signed_up", "contactId": sent.contact_id})
    listed = api.get("/api/events")
    assert listed.status_code == 200
    assert_matches_schema(listed, "GET", "/api/events")
    names = [item["name"] for item in listed.json()["data"]]
    assert set(names) == {"email.opened", "signed_up"}
    only_opens = api.get("/api/events?name=email.opened").json()["data"]
    assert [e["sendId"] for e in only_opens] == [sent.id] and only_opens[0]["system"] is True
    by_email = api.get("/api/events?email=UNA@example.com").json()["data"]
    assert len(by_email) == 2
    assert api.get("/api/events?from=2100-01-01").json()["data"] == []
    one = api.get(f"/api/events/{only_opens[0]['id']}")
    assert one.status_code == 200 and one.json()["name"] == "email.opened"
    assert_matches_schema(one, "GET", "/api/events/{id}")
    assert other_api.get(f"/api/events/{only_opens[0]['id']}").status_code == 404
    assert other_api.get("/api/events").json()["data"] == []
    assert api.get("/api/events?from=yesterday").status_code == 400


def test_the_timeline_merges_sends_events_enrolments_and_opt_outs_newest_first(api, client, organisation):
    from tests.scheduling.conftest import ONBOARDING

    for slug in ("welcome-email", "getting-started", "tips-and-tricks"):
        TemplateFactory(organisation=organisation, slug=slug)
    api.put("/api/sequences/onboarding", {"id": "onboarding", "name": "Onboarding", "definition": ONBOARDING})
    api.post("/api/sequences/onboarding/activate")
    contact = api.post("/api/contacts", {"email": "tia@example.com"}).json()
    api.post("/api/sequences/onboarding/enrol", {"contactId": contact["id"]})
    api.post("/api/events", {"name": "visited_pricing", "contactId": contact["id"]})
    TemplateFactory(organisation=organisation, slug="receipt")
    send_id = api.post("/api/send", {"to": "tia@example.com", "templateId": "receipt"}).json()["id"]
    client.get(path_of(open_pixel_url(send_id)))
    api.patch(f"/api/contacts/{contact['id']}", {"unsubscribed": True})  # ends the enrolment too
    response = api.get(f"/api/contacts/{contact['id']}/timeline")
    assert response.status_code == 200
    assert_matches_schema(response, "GET", "/api/contacts/{contact_id}/timeline")
    items = response.json()["data"]
    assert [item["at"] for item in items] == sorted((item["at"] for item in items), reverse=True)
    kinds = {(item["type"], item.get("change") or item.get("name") or item.get("templateId")) for item in items}
    assert {("opt_out", "unsubscribed"), ("enrolment", "cancelled"), ("enrolment", "enrolled"),
            ("event", "visited_pricing"), ("event", "email.opened"), ("send", "receipt")} <= kinds  # fmt: skip
    # a walk one item at a time sees the same items, each once
    walked, cursor = [], None
    while True:
        page = api.get(f"/api/contacts/{contact['id']}/timeline?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        walked += page.json()["data"]
        cursor = page.json()["nextCursor"]
        if not cursor:
            break
    assert walked == items
    assert api.get(f"/api/contacts/{contact['id']}/timeline?cursor=bm9wZQ").status_code == 400


def test_unsubscribes_are_in_the_metrics(api, client, sent, organisation):
    TemplateFactory(organisation=organisation, slug="welcome")
    client.post(path_of(unsubscribe_url(sent.id)))
    client.post(path_of(unsubscribe_url(sent.id)))  # again: counted once
    body = api.get("/api/metrics?period=day").json()  # the last 30 days: the unsubscribe is today
    assert body["totals"]["unsubscribed"] == 1
    assert api.get("/api/metrics/templates/welcome").json()["totals"]["unsubscribed"] == 1


def test_a_send_whose_contact_is_gone_still_counts_but_records_no_event(client, sent, organisation):
    Contact.objects.filter(pk=sent.contact_id).delete()
    client.get(path_of(open_pixel_url(sent.id)))
    assert Send.objects.get(pk=sent.id).opened_at is not None
    assert not Event.objects.filter(send_id=sent.id).exists() and totals(organisation)["opened"] == 1

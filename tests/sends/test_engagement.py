"""sends.engagement.pipeline: the rules for applying facts (docs/api.md, "Sends")."""

from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Event
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, MetricRollup
from tests.factories import SendFactory

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def send(organisation):
    return SendFactory(organisation=organisation, status="sent", sent_at=T0)


def apply(send, event, minutes, **extra):
    return engagement_record(
        EngagementFact(EngagementKind(event), T0 + timedelta(minutes=minutes), send_id=send.id, **extra)
    )


def test_status_moves_only_forward(send):
    apply(send, "delivered", 1)
    apply(send, "bounced", 2)
    apply(send, "delivered", 3)
    send.refresh_from_db()
    assert send.status == "bounced" and send.delivered_at == T0 + timedelta(minutes=1)


def test_an_out_of_order_delivery_fills_its_timestamp_without_moving_status_back(send):
    apply(send, "opened", 5)
    apply(send, "bounced", 6)
    apply(send, "delivered", 1)
    send.refresh_from_db()
    assert send.status == "bounced"
    assert (send.delivered_at, send.opened_at) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=5))


def test_opens_and_clicks_never_change_the_status(send):
    apply(send, "opened", 1)
    apply(send, "clicked", 2)
    send.refresh_from_db()
    assert send.status == "sent"


def test_the_first_event_of_a_kind_wins_even_when_it_arrives_last(send):
    assert apply(send, "opened", 10) == "applied"
    assert apply(send, "opened", 20) == "unchanged"
    assert apply(send, "opened", 10) == "unchanged"
    assert apply(send, "opened", 3) == "applied"
    send.refresh_from_db()
    assert send.opened_at == T0 + timedelta(minutes=3)
    # the open is counted once, in the quarter hour of the first one (moved when it arrived)
    opened = {r.bucket: r.opened for r in MetricRollup.objects.filter(scope="all") if r.opened}
    assert opened == {T0: 1}
    # and every open is on the contact's timeline
    assert Event.objects.filter(name="email.opened", send_id=send.id).count() == 4


def test_rejected_is_final(send):
    apply(send, "rejected", 1, detail="Rejected by SES: Bad content")
    apply(send, "delivered", 2)
    apply(send, "complained", 3)
    send.refresh_from_db()
    assert send.status == "rejected" and send.rejection_reason == "Rejected by SES: Bad content"

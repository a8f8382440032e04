"""sends.engagement: the rules for applying events (API.md 6)."""

from datetime import UTC, datetime, timedelta

import pytest

from sends.engagement import EngagementEvent, engagement_record
from sends.signals import send_event_recorded
from tests.factories import SendFactory

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def send(organisation):
    return SendFactory(organisation=organisation, status="sent", sent_at=T0)


@pytest.fixture
def announced():
    events = []

    def listen(sender, send, event, at, previous_at, **kwargs):
        events.append((event, at, previous_at))

    send_event_recorded.connect(listen)
    yield events
    send_event_recorded.disconnect(listen)


def apply(send, event, minutes, **extra):
    return engagement_record(send_id=send.id, event=EngagementEvent(event, T0 + timedelta(minutes=minutes), **extra))


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


def test_the_first_event_of_a_kind_wins_even_when_it_arrives_last(send, announced):
    assert apply(send, "opened", 10) is True
    assert apply(send, "opened", 20) is False
    assert apply(send, "opened", 10) is False
    assert apply(send, "opened", 3) is True
    send.refresh_from_db()
    assert send.opened_at == T0 + timedelta(minutes=3)
    assert announced == [
        ("opened", T0 + timedelta(minutes=10), None),
        ("opened", T0 + timedelta(minutes=3), T0 + timedelta(minutes=10)),
    ]


def test_rejected_is_final(send):
    apply(send, "rejected", 1, detail="Rejected by SES: Bad content")
    apply(send, "delivered", 2)
    apply(send, "complained", 3)
    send.refresh_from_db()
    assert send.status == "rejected" and send.rejection_reason == "Rejected by SES: Bad content"

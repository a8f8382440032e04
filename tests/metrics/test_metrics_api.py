"""/api/metrics (docs/api.md 10; the seed 003 it follows is in docs/seeds/)."""

from datetime import UTC, datetime

import pytest

from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind
from tests.factories import SendFactory, TemplateFactory
from tests.openapi import assert_matches_schema


def record(send, event, when):
    engagement_record(EngagementFact(EngagementKind(event), when, send_id=send.id))


@pytest.fixture
def history(organisation):
    """Three sends in early September 2025, one through a sequence."""
    TemplateFactory(organisation=organisation, slug="welcome")
    TemplateFactory(organisation=organisation, slug="tips")
    welcome = SendFactory(organisation=organisation, template_slug="welcome")
    tips = SendFactory(organisation=organisation, template_slug="tips", source="sequence", source_id="onboarding")
    bounced = SendFactory(organisation=organisation, template_slug="welcome")
    record(welcome, "sent", datetime(2025, 9, 1, 9, 0, tzinfo=UTC))
    record(welcome, "delivered", datetime(2025, 9, 1, 9, 1, tzinfo=UTC))
    record(welcome, "opened", datetime(2025, 9, 2, 23, 30, tzinfo=UTC))
    record(welcome, "clicked", datetime(2025, 9, 2, 23, 45, tzinfo=UTC))
    record(tips, "sent", datetime(2025, 9, 15, 23, 59, tzinfo=UTC))
    record(bounced, "sent", datetime(2025, 9, 8, 12, 0, tzinfo=UTC))
    record(bounced, "bounced", datetime(2025, 9, 8, 12, 5, tzinfo=UTC))
    return {"welcome": welcome, "tips": tips, "bounced": bounced}


def test_the_seed_example_returns_15_daily_points(api, history):
    path = "/api/metrics?period=day&from=2025-09-01T00:00:00.000Z&to=2025-09-15T23:59:59.999Z"
    response = api.get(path)
    assert response.status_code == 200
    assert_matches_schema(response, "GET", "/api/metrics")
    body = response.json()
    assert (body["period"], body["from"], body["to"]) == ("day", "2025-09-01T00:00:00.000Z", "2025-09-15T23:59:59.999Z")
    assert len(body["timeseries"]) == 15
    assert [p["timestamp"] for p in body["timeseries"][:2]] == ["2025-09-01T00:00:00.000Z", "2025-09-02T00:00:00.000Z"]
    assert body["totals"] == {
        "sent": 3,
        "delivered": 1,
        "opened": 1,
        "clicked": 1,
        "bounced": 1,
        "complained": 0,
        "unsubscribed": 0,
    }
    first, second = body["timeseries"][0], body["timeseries"][1]
    assert (first["sent"], first["delivered"], second["opened"], second["clicked"]) == (1, 1, 1, 1)
    assert body["timeseries"][14]["sent"] == 1


def test_templates_and_sequences_have_their_own_series(api, history):
    welcome = api.get("/api/metrics/templates/welcome?from=2025-09-01&to=2025-09-30").json()
    assert welcome["totals"]["sent"] == 2 and welcome["totals"]["bounced"] == 1
    assert_matches_schema(api.get("/api/metrics/templates/welcome"), "GET", "/api/metrics/templates/welcome")
    api.put("/api/sequences/onboarding", {"name": "O", "definition": "steps: [{send: tips}]"})
    onboarding = api.get("/api/metrics/sequences/onboarding?from=2025-09-01&to=2025-09-30").json()
    assert onboarding["totals"]["sent"] == 1 and onboarding["totals"]["delivered"] == 0


def test_time_zones_move_events_into_their_local_days(api, history):
    utc = api.get("/api/metrics?period=day&from=2025-09-02&to=2025-09-03T23:00:00Z").json()
    assert [p["opened"] for p in utc["timeseries"]] == [1, 0]
    berlin = api.get(
        "/api/metrics?period=day&from=2025-09-02T12:00:00Z&to=2025-09-03T12:00:00Z&tz=Europe/Berlin"
    ).json()
    assert [p["timestamp"] for p in berlin["timeseries"]] == ["2025-09-01T22:00:00.000Z", "2025-09-02T22:00:00.000Z"]
    assert [p["opened"] for p in berlin["timeseries"]] == [0, 1]  # 23:30 UTC is 01:30 the next day in Berlin
    kolkata = api.get(
        "/api/metrics?period=hour&from=2025-09-02T23:00:00Z&to=2025-09-02T23:59:00Z&tz=Asia/Kolkata"
    ).json()
    assert [p["timestamp"] for p in kolkata["timeseries"]] == ["2025-09-02T22:30:00.000Z", "2025-09-02T23:30:00.000Z"]
    assert [(p["opened"], p["clicked"]) for p in kolkata["timeseries"]] == [(0, 0), (1, 1)]


def test_weeks_start_on_monday_and_months_on_the_first(api, history):
    weeks = api.get("/api/metrics?period=week&from=2025-09-01&to=2025-09-20").json()
    assert [p["timestamp"] for p in weeks["timeseries"]] == [
        "2025-09-01T00:00:00.000Z", "2025-09-08T00:00:00.000Z", "2025-09-15T00:00:00.000Z",
    ]  # fmt: skip
    assert [p["sent"] for p in weeks["timeseries"]] == [1, 1, 1]
    months = api.get("/api/metrics?period=month&from=2025-08-15&to=2025-10-02").json()
    assert [p["timestamp"][:10] for p in months["timeseries"]] == ["2025-08-01", "2025-09-01", "2025-10-01"]
    assert [p["sent"] for p in months["timeseries"]] == [0, 3, 0]


def test_points_are_gap_filled_and_the_default_is_30_days_to_now(api, history):
    body = api.get("/api/metrics").json()
    assert body["period"] == "day" and len(body["timeseries"]) == 30
    assert all(p["sent"] == 0 for p in body["timeseries"])
    assert body["timeseries"][-1]["timestamp"] == datetime.now(UTC).strftime("%Y-%m-%dT00:00:00.000Z")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=year", "'period' must be one of"),
        ("from=yesterday", "'from'"),
        ("to=2025-13-01", "'to'"),
        ("from=2025-09-10&to=2025-09-01", "must not be after"),
        ("period=hour&from=2020-01-01&to=2025-01-01", "coarser period"),
        ("tz=Mars/Olympus", "IANA"),
    ],
)
def test_bad_queries_are_400(api, query, message):
    response = api.get(f"/api/metrics?{query}")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_unknown_ids_are_404(api, other_api, history):
    assert api.get("/api/metrics/templates/nope").status_code == 404
    assert api.get("/api/metrics/sequences/nope").status_code == 404
    assert other_api.get("/api/metrics/templates/welcome").status_code == 404
    assert other_api.get("/api/metrics?from=2025-09-01&to=2025-09-30").json()["totals"]["sent"] == 0


@pytest.mark.parametrize(
    ("alias", "period"), [("hourly", "hour"), ("daily", "day"), ("weekly", "week"), ("monthly", "month")]
)
def test_the_guides_period_spellings_are_accepted(api, alias, period):
    response = api.get(f"/api/metrics?period={alias}")
    assert response.status_code == 200 and response.json()["period"] == period


def test_the_typed_counts_name_every_counter():
    from metrics.queries import Counts, Point
    from sends.models import COUNTERS

    assert tuple(Counts.__annotations__) == COUNTERS
    assert set(Point.__annotations__) == {*COUNTERS, "timestamp"}

"""Rollups equal a raw recount of the sends, for every period, scope and time zone (property-based)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Event
from kraiter.models import Organisation
from metrics.queries import metrics_range, metrics_report
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import COUNTERS, EngagementKind, MetricRollup, Send
from tests.conftest import run_concurrently
from tests.factories import ContactFactory, OrganisationFactory, SendFactory

# Around Berlin's autumn DST change (2025-10-26 03:00 → 02:00) and across a month end.
WINDOW_START = datetime(2025, 10, 24, tzinfo=UTC)
WINDOW = timedelta(days=9)
ZONES = ("UTC", "Asia/Kolkata", "Europe/Berlin", "America/St_Johns")
SCOPES = [("all", ""), ("template", "welcome"), ("template", "tips"), ("sequence", "onboarding")]

event_strategy = st.tuples(
    st.sampled_from(["sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed"]),
    st.integers(min_value=0, max_value=int(WINDOW.total_seconds()) - 1),
)
send_strategy = st.tuples(
    st.sampled_from(
        [("welcome", "transactional", None), ("tips", "sequence", "onboarding"), ("tips", "transactional", None)]
    ),
    st.lists(event_strategy, min_size=1, max_size=6),
)


def recount(organisation: Organisation, scope: str, scope_id: str, span) -> dict:
    """The same report computed the naive way: every send's timestamps (and its unsubscribe
    event: a send has no unsubscribe timestamp), in Python."""
    sends = Send.objects.filter(organisation=organisation)
    if scope == "template":
        sends = sends.filter(template_slug=scope_id)
    elif scope == "sequence":
        sends = sends.filter(source="sequence", source_id=scope_id)
    points = [dict.fromkeys(COUNTERS, 0) for _ in span.points]
    bounds = [*span.points, span.after_last]
    for send in sends:
        unsubscribed = Event.objects.filter(send_id=send.id, name="email.unsubscribed").order_by("timestamp").first()
        for name in COUNTERS:
            moment = (
                unsubscribed.timestamp if name == "unsubscribed" and unsubscribed else getattr(send, f"{name}_at", None)
            )
            for index in range(len(span.points)):
                if moment is not None and bounds[index] <= moment < bounds[index + 1]:
                    points[index][name] += 1
    return {name: [p[name] for p in points] for name in COUNTERS}


def reported(organisation, scope, scope_id, span) -> dict:
    series = metrics_report(organisation=organisation, scope=scope, scope_id=scope_id, span=span)["timeseries"]
    return {name: [p[name] for p in series] for name in COUNTERS}


def assert_rollups_match(organisation):
    for period in ("hour", "day", "week", "month"):
        for zone in ZONES:
            span = metrics_range(
                {
                    "period": period,
                    "from": WINDOW_START.isoformat(),
                    "to": (WINDOW_START + WINDOW).isoformat(),
                    "tz": zone,
                }
            )
            for scope, scope_id in SCOPES:
                assert reported(organisation, scope, scope_id, span) == recount(organisation, scope, scope_id, span), (
                    period, zone, scope, scope_id,
                )  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(sends=st.lists(send_strategy, min_size=1, max_size=12))
@pytest.mark.django_db
def test_rollups_equal_a_raw_recount(sends):
    organisation = OrganisationFactory()
    for (template, source, source_id), events in sends:
        send = SendFactory(organisation=organisation, template_slug=template, source=source, source_id=source_id)
        for event, offset in events:
            engagement_record(
                EngagementFact(EngagementKind(event), WINDOW_START + timedelta(seconds=offset), send_id=send.id)
            )
    assert_rollups_match(organisation)
    # ... and the backfill rebuilds exactly what the events built.
    MetricRollup.objects.filter(organisation=organisation).update(sent=999)
    call_command(
        "backfill_metrics", "--from", WINDOW_START.isoformat(), "--to", (WINDOW_START + WINDOW).isoformat(),
        "--organisation", organisation.id, stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    assert_rollups_match(organisation)


def test_backfill_is_idempotent_reports_progress_and_has_a_dry_run(organisation):
    send = SendFactory(organisation=organisation, template_slug="welcome")
    engagement_record(EngagementFact(EngagementKind("sent"), WINDOW_START + timedelta(hours=5), send_id=send.id))
    before = list(
        MetricRollup.objects.values_list("scope", "scope_id", "bucket", *COUNTERS).order_by("scope", "scope_id")
    )
    args = ["--from", "2025-10-20", "--to", "2025-11-01", "--organisation", organisation.id]
    err = StringIO()
    out = StringIO()
    call_command("backfill_metrics", *args, "--dry-run", stdout=out, stderr=err)
    assert "Would count 1 events" in out.getvalue() and "12/12" in err.getvalue()
    MetricRollup.objects.all().delete()
    call_command("backfill_metrics", *args, "--dry-run", stdout=StringIO(), stderr=StringIO())
    assert not MetricRollup.objects.exists()  # a dry run writes nothing
    for _ in range(2):
        call_command("backfill_metrics", *args, stdout=StringIO(), stderr=StringIO())
        after = list(
            MetricRollup.objects.values_list("scope", "scope_id", "bucket", *COUNTERS).order_by("scope", "scope_id")
        )
        assert after == before


def test_backfill_refuses_bad_arguments(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("backfill_metrics", "--from", "2025-10-02", "--to", "2025-10-01")
    with pytest.raises(CommandError):
        call_command("backfill_metrics", "--from", "soon", "--to", "2025-10-01")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_events_for_one_hour_count_exactly():
    organisation = OrganisationFactory()
    contact = ContactFactory(organisation=organisation)
    sends = [SendFactory(organisation=organisation, contact=contact, template_slug="welcome") for _ in range(200)]
    moment = datetime(2025, 9, 1, 10, 7, tzinfo=UTC)

    def worker(index: int) -> None:
        for send in sends[index::8]:
            for event in ("delivered", "delivered", "opened"):  # a duplicate too: it must not count
                engagement_record(EngagementFact(EngagementKind(event), moment, send_id=send.id))

    run_concurrently(worker, 8)
    rows = MetricRollup.objects.filter(organisation=organisation, bucket=datetime(2025, 9, 1, 10, 0, tzinfo=UTC))
    assert {(r.scope, r.delivered, r.opened) for r in rows} == {("all", 200, 200), ("template", 200, 200)}

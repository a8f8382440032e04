"""The admin's metrics page shows the same numbers as the API, drawn without the internet."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind
from tests.factories import SendFactory, TemplateFactory


@pytest.fixture
def staff(client, db):
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def test_the_dashboard_matches_the_api(staff, api):
    for n in range(3):
        send = SendFactory(organisation=api.organisation)
        engagement_record(EngagementFact(EngagementKind("sent"), timezone.now() - timedelta(days=n), send_id=send.id))
        if n:
            engagement_record(
                EngagementFact(EngagementKind("delivered"), timezone.now() - timedelta(days=n), send_id=send.id)
            )
    page = staff.get(f"/admin/metrics/?organisation={api.organisation.id}").content.decode()
    totals = api.get("/api/metrics").json()["totals"]
    for name, value in totals.items():
        assert f'<td class="total-{name}">{value}</td>' in page
    assert "<svg" in page and "<polyline" in page
    assert "66.7%" in page  # delivery rate: 2 of 3
    assert not re.search(r'(src|href)="https?://', page), "the admin must work without the internet"


def test_the_dashboard_needs_a_staff_login(client, db):
    response = client.get("/admin/metrics/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def two_templates(api):
    for slug, days in (("welcome", 1), ("receipt", 2)):
        TemplateFactory(organisation=api.organisation, slug=slug)
        send = SendFactory(organisation=api.organisation, template_slug=slug)
        engagement_record(
            EngagementFact(EngagementKind("sent"), timezone.now() - timedelta(days=days), send_id=send.id)
        )
    return api


def test_the_metrics_page_takes_period_range_zone_and_template(staff, two_templates):
    """One of the two sends is the welcome template's: the page counts only it."""
    api = two_templates
    today = timezone.now().date()
    query = {"organisation": api.organisation.id, "period": "week", "tz": "Europe/Berlin", "template": "welcome",
             "from": str(today - timedelta(days=20)), "to": str(today)}  # fmt: skip
    page = staff.get("/admin/metrics/", query).content.decode()
    assert '<td class="total-sent">1</td>' in page and "Europe/Berlin" in page and "week by week" in page
    assert '<option value="welcome" selected>' in page
    assert "<title>" in page and ": 1 sent</title>" in page  # the value on hover


def test_the_metrics_page_downloads_its_points_as_csv(staff, two_templates):
    api = two_templates
    response = staff.get("/admin/metrics/", {"organisation": api.organisation.id, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().splitlines()
    assert rows[0] == "timestamp,sent,delivered,opened,clicked,bounced,complained,unsubscribed"
    assert sum(int(row.split(",")[1]) for row in rows[1:]) == api.get("/api/metrics").json()["totals"]["sent"] == 2


def test_the_metrics_page_says_what_is_wrong_with_a_bad_zone(staff, api):
    page = staff.get("/admin/metrics/", {"organisation": api.organisation.id, "tz": "Mars/Olympus"}).content.decode()
    assert "must be an IANA time zone" in page


def test_the_front_page_shows_bounces_suppressions_and_the_queue(staff, api):
    from contacts.models import Contact

    bounced = SendFactory(organisation=api.organisation, subject="Reset your password", status="sent")
    engagement_record(EngagementFact(EngagementKind("bounced"), timezone.now(), send_id=bounced.id, permanent=True))
    SendFactory(organisation=api.organisation, status="queued", created_at=timezone.now() - timedelta(hours=1))
    assert Contact.objects.filter(suppressed=True).count() == 1  # the permanent bounce
    page = staff.get("/admin/", {"organisation": api.organisation.id}).content.decode()
    problems = page.split('id="problems"')[1].split("</table>")[0]
    assert bounced.email in problems and "bounced" in problems and "Reset your password" in problems
    assert '<td class="queue-queued">1</td>' in page and '<td class="queue-stuck">1</td>' in page
    assert "1\xa0hour ago" in page or "1 hour ago" in page
    assert ">1</a></td>" in page.split('class="suppressed"')[1][:400]

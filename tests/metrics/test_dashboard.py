"""The admin's metrics page shows the same numbers as the API, drawn without the internet."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind
from tests.factories import SendFactory


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

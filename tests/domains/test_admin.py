"""Staff add a domain, copy its records, check it now, and set an organisation's sender."""

import pytest
from django.contrib.auth import get_user_model

from domains.models import Domain, SenderSettings

pytestmark = pytest.mark.usefixtures("local_identities")


@pytest.fixture
def staff(client, db):
    client.force_login(get_user_model().objects.create_superuser("support", "support@example.com", "pw"))
    return client


def test_staff_add_a_domain_copy_its_records_and_check_it(staff, organisation):
    response = staff.post("/admin/domains/domain/add/", {"organisation": organisation.pk, "name": "Acme.Example"})
    assert response.status_code == 302, response.content.decode()[:2000]
    domain = Domain.objects.get(name="acme.example")
    page = staff.get(f"/admin/domains/domain/{domain.pk}/change/").content.decode()
    dkim = domain.dns_records[0]
    assert f'readonly value="{dkim["name"]}"' in page and f'value="{dkim["value"]}"' in page
    assert "Pending" in page
    staff.post("/admin/domains/domain/", {"action": "check_now", "_selected_action": [domain.pk]})
    domain.refresh_from_db()
    assert domain.status == "verified" and domain.last_checked_at is not None
    again = staff.post("/admin/domains/domain/add/", {"organisation": organisation.pk, "name": "acme.example"})
    assert "already been added" in again.content.decode()


def test_sender_settings_refuse_a_from_address_on_an_unverified_domain(staff, organisation):
    form = {"organisation": organisation.pk, "from_name": "Acme", "from_email": "hi@acme.example", "reply_to": ""}
    refused = staff.post("/admin/domains/sendersettings/add/", form)
    assert "not on a domain of this organisation" in refused.content.decode()
    staff.post("/admin/domains/domain/add/", {"organisation": organisation.pk, "name": "acme.example"})
    domain = Domain.objects.get(name="acme.example")
    staff.post("/admin/domains/domain/", {"action": "check_now", "_selected_action": [domain.pk]})
    assert staff.post("/admin/domains/sendersettings/add/", form).status_code == 302
    assert SenderSettings.objects.get(organisation=organisation).from_email == "hi@acme.example"

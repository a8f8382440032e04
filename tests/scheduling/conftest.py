from datetime import timedelta
from typing import Any

import pytest

from contacts.models import Contact
from scheduling.dispatcher import dispatch_until_idle
from tests.factories import TemplateFactory

ONBOARDING = """
trigger:
  event: signed_up
steps:
  - send: welcome-email
  - delay: 1d
  - send: getting-started
  - delay: 3d
  - send: tips-and-tricks
"""


@pytest.fixture
def templates(organisation):
    return {
        slug: TemplateFactory(organisation=organisation, slug=slug, name=name, subject=subject)
        for slug, name, subject in [
            ("welcome-email", "Welcome Email", "Welcome, {{ firstName }}!"),
            ("getting-started", "Getting Started Guide", "Getting started with Kraiter"),
            ("tips-and-tricks", "Tips and Tricks", "Kraiter tips and tricks"),
        ]
    }


@pytest.fixture
def onboarding(api, templates) -> dict[str, Any]:
    response = api.put(
        "/api/sequences/onboarding", {"id": "onboarding", "name": "Onboarding", "definition": ONBOARDING}
    )
    assert response.status_code == 201, response.content
    assert api.post("/api/sequences/onboarding/activate").status_code == 200
    return response.json()


def enrol(api, email: str, sequence: str = "onboarding", **properties: Any) -> dict[str, Any]:
    contact = Contact.objects.filter(email=email).first()
    if contact is None:
        contact_id = api.post("/api/contacts", {"email": email, "properties": properties}).json()["id"]
    else:
        contact_id = contact.id
    response = api.post(f"/api/sequences/{sequence}/enrol", {"contactId": contact_id})
    assert response.status_code == 201, response.content
    return response.json()


class Timeline:
    """Moves the clock forward and runs the dispatcher, as beat would."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def run(self, after: timedelta = timedelta(0)) -> int:
        self.clock.advance(after)
        return dispatch_until_idle()


@pytest.fixture
def timeline(clock) -> Timeline:
    return Timeline(clock)

"""Tenancy on every route of the URLconf (API.md 1): another organisation's objects are 404, never
changed and never shown. The routes come from kraiter.urls itself, so an endpoint added without a
cross-tenant case here fails `test_every_api_route_keeps_organisations_apart`."""

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver
from rest_framework.test import APIClient

import kraiter.urls
from contacts.models import Contact, Event
from domains.models import Domain
from kraiter.api.errors import api_not_found
from kraiter.models import ApiKey, Organisation, StaffMembership
from scheduling.models import Enrolment, ScheduledSend, Sequence
from sends.models import Send
from templates_app.models import Template
from tests.factories import ContactFactory, SendFactory, TemplateFactory


def api_routes() -> list[str]:
    """'METHOD route-name' for every endpoint under /api/ (views without actions answer GET)."""

    def walk(patterns: list[Any], prefix: str = "") -> Any:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    routes = []
    for path, pattern in walk(kraiter.urls.urlpatterns):
        if path.lstrip("^").startswith("api/") and pattern.callback is not api_not_found:
            actions = getattr(pattern.callback, "actions", None) or {"get": None}
            routes += [f"{method.upper()} {pattern.name}" for method in actions]
    return routes


@dataclass(frozen=True)
class Attempt:
    """What Globex tries against Acme's objects, and the status it must get."""

    method: str
    path: str
    status: int
    body: dict[str, Any] | None = None
    as_staff: bool = False  # Globex's staff session instead of Globex's API key


# Paths and bodies name Acme's objects as {contact}, {send}, {scheduled}, {key} (see the fixture).
CASES: dict[str, list[Attempt]] = {
    "GET api-schema": [Attempt("GET", "/api/schema/", 200)],
    "GET api-docs": [Attempt("GET", "/api/docs/", 200)],
    "GET tenant": [Attempt("GET", "/api/tenant", 200)],
    "GET tenant-sandbox-whitelist": [Attempt("GET", "/api/tenant/sandbox-whitelist", 200)],
    "POST tenant-sandbox-whitelist": [
        Attempt("POST", "/api/tenant/sandbox-whitelist", 200, {"email": "g@globex.example"})
    ],
    "DELETE tenant-sandbox-whitelist": [
        Attempt("DELETE", "/api/tenant/sandbox-whitelist", 404, {"email": "vip@acme.example"})
    ],
    "GET events": [Attempt("GET", "/api/events", 200), Attempt("GET", "/api/events?contactId={contact}", 200)],
    "GET event": [Attempt("GET", "/api/events/{event}", 404)],
    "GET contact-timeline": [Attempt("GET", "/api/contacts/{contact}/timeline", 404)],
    "POST send": [
        Attempt("POST", "/api/send", 404, {"to": "x@globex.example", "templateId": "acme-welcome"}),
        Attempt("POST", "/api/send", 201, {"to": "ceo@acme.example", "templateId": "globex-note"}),
        Attempt(  # Acme's verified domain is not Globex's to send from
            "POST", "/api/send", 403, {"to": "x@globex.example", "templateId": "globex-note", "from": "a@acme.example"}
        ),
    ],
    "POST events": [
        Attempt("POST", "/api/events", 404, {"name": "signed_up", "contactId": "{contact}"}),
        Attempt("POST", "/api/events", 201, {"name": "signed_up", "email": "ceo@acme.example"}),
    ],
    "GET domains": [Attempt("GET", "/api/domains", 200)],
    "POST domains": [  # a domain another organisation has is a conflict that does not say whose
        Attempt("POST", "/api/domains", 409, {"domain": "acme.example"}),
        Attempt("POST", "/api/domains", 201, {"domain": "globex.example"}),
    ],
    "GET domain": [Attempt("GET", "/api/domains/{domain}", 404)],
    "DELETE domain": [Attempt("DELETE", "/api/domains/{domain}", 404)],
    "POST domain-verify": [Attempt("POST", "/api/domains/{domain}/verify", 404)],
    "GET metrics": [Attempt("GET", "/api/metrics", 200)],
    "GET metrics-sequence": [Attempt("GET", "/api/metrics/sequences/acme-onboarding", 404)],
    "GET metrics-template": [Attempt("GET", "/api/metrics/templates/acme-welcome", 404)],
    "GET contact-scheduled": [Attempt("GET", "/api/contacts/{contact}/scheduled", 404)],
    "GET contact-sends": [Attempt("GET", "/api/contacts/{contact}/sends", 404)],
    "GET key-list": [Attempt("GET", "/api/keys", 200), Attempt("GET", "/api/keys", 200, as_staff=True)],
    "POST key-list": [Attempt("POST", "/api/keys", 201, {"name": "globex"}, as_staff=True)],
    "DELETE key-detail": [Attempt("DELETE", "/api/keys/{key}", 404, as_staff=True)],
    "GET contact-list": [Attempt("GET", "/api/contacts", 200), Attempt("GET", "/api/contacts?search=acme", 200)],
    "POST contact-list": [Attempt("POST", "/api/contacts", 201, {"email": "ceo@acme.example"})],
    "GET contact-detail": [Attempt("GET", "/api/contacts/{contact}", 404)],
    "PATCH contact-detail": [Attempt("PATCH", "/api/contacts/{contact}", 404, {"unsubscribed": True})],
    "DELETE contact-detail": [Attempt("DELETE", "/api/contacts/{contact}", 404)],
    "GET template-list": [Attempt("GET", "/api/templates", 200)],
    "GET template-detail": [Attempt("GET", "/api/templates/acme-welcome", 404)],
    "PUT template-detail": [  # the same slug in another organisation is another template
        Attempt("PUT", "/api/templates/acme-welcome", 201, {"name": "G", "subject": "G", "html": "<p>g</p>"})
    ],
    "DELETE template-detail": [Attempt("DELETE", "/api/templates/acme-welcome", 404)],
    "POST template-preview": [
        Attempt("POST", "/api/templates/acme-welcome/preview", 404, {}),
        Attempt("POST", "/api/templates/globex-note/preview", 404, {"contactId": "{contact}"}),
        Attempt("POST", "/api/templates/globex-note/preview", 200, {"email": "ceo@acme.example"}),
    ],
    "GET send-list": [Attempt("GET", "/api/sends", 200), Attempt("GET", "/api/sends?contactId={contact}", 200)],
    "GET send-detail": [Attempt("GET", "/api/sends/{send}", 404)],
    "GET sequence-list": [Attempt("GET", "/api/sequences", 200)],
    "GET sequence-detail": [Attempt("GET", "/api/sequences/acme-onboarding", 404)],
    "PUT sequence-detail": [  # Acme's templates are unknown to Globex
        Attempt(
            "PUT", "/api/sequences/acme-onboarding", 400, {"name": "G", "definition": "steps: [{send: acme-welcome}]"}
        )
    ],
    "DELETE sequence-detail": [Attempt("DELETE", "/api/sequences/acme-onboarding", 404)],
    "POST sequence-activate": [Attempt("POST", "/api/sequences/acme-onboarding/activate", 404)],
    "POST sequence-pause": [Attempt("POST", "/api/sequences/acme-onboarding/pause", 404)],
    "POST sequence-enrol": [
        Attempt("POST", "/api/sequences/acme-onboarding/enrol", 404, {"email": "x@globex.example"}),
        Attempt("POST", "/api/sequences/globex-drip/enrol", 404, {"contactId": "{contact}"}),
    ],
    "GET sequence-enrolments": [
        Attempt("GET", "/api/sequences/acme-onboarding/enrolments", 404),
        Attempt("GET", "/api/sequences/globex-drip/enrolments", 200),
    ],
    "GET sequence-enrolment": [
        Attempt("GET", "/api/sequences/acme-onboarding/enrolments/{enrolment}", 404),
        Attempt("GET", "/api/sequences/globex-drip/enrolments/{enrolment}", 404),
    ],
    "DELETE sequence-enrolment": [
        Attempt("DELETE", "/api/sequences/acme-onboarding/enrolments/{enrolment}", 404),
        Attempt("DELETE", "/api/sequences/globex-drip/enrolments/{enrolment}", 404),
    ],
    "POST sequence-enrolment-exit": [
        Attempt("POST", "/api/sequences/acme-onboarding/enrolments/{enrolment}/exit", 404),
        Attempt("POST", "/api/sequences/globex-drip/enrolments/{enrolment}/exit", 404),
    ],
    "GET contact-enrolments": [
        Attempt("GET", "/api/contacts/{contact}/enrolments", 404),
        Attempt("GET", "/api/contacts/ceo@acme.example/enrolments", 404),
    ],
    "GET scheduled-list": [Attempt("GET", "/api/scheduled", 200)],
    "GET scheduled-detail": [Attempt("GET", "/api/scheduled/{scheduled}", 404)],
    "DELETE scheduled-detail": [Attempt("DELETE", "/api/scheduled/{scheduled}", 404)],
}


@pytest.fixture
def acme(api, other_api, settings):
    """Acme with one of everything (a contact in an active sequence with an email scheduled, a send,
    a key); Globex with a template and an active sequence of its own."""
    settings.DOMAIN_IDENTITY_SERVICE = "local"
    organisation = api.organisation
    TemplateFactory(organisation=organisation, slug="acme-welcome", subject="Acme secret subject")
    contact = ContactFactory(
        organisation=organisation, email="ceo@acme.example", properties={"plan": "acme-secret-plan"}
    )
    definition = "trigger: {event: signed_up}\nsteps: [{delay: 1d}, {send: acme-welcome}]"
    assert (
        api.put("/api/sequences/acme-onboarding", {"name": "Acme onboarding", "definition": definition}).status_code
        == 201
    )
    api.post("/api/sequences/acme-onboarding/activate")
    enrolment = api.post("/api/sequences/acme-onboarding/enrol", {"contactId": contact.id}).json()
    send = SendFactory(organisation=organisation, contact=contact, template_slug="acme-welcome", status="sent")
    TemplateFactory(organisation=other_api.organisation, slug="globex-note", html="<p>{{ plan }}</p>")
    other_api.put("/api/sequences/globex-drip", {"name": "Drip", "definition": "steps: [{send: globex-note}]"})
    other_api.post("/api/sequences/globex-drip/activate")
    key = ApiKey.objects.get(organisation=organisation)
    event = api.post("/api/events", {"name": "acme_secret_event", "contactId": contact.id}).json()
    api.post("/api/tenant/sandbox-whitelist", {"email": "vip@acme.example"})
    domain = api.post("/api/domains", {"domain": "acme.example"}).json()
    api.post(f"/api/domains/{domain['id']}/verify")  # the local identity service verifies when asked
    ids = {
        "domain": domain["id"],
        "event": event["id"],
        "contact": contact.id,
        "send": send.id,
        "scheduled": ScheduledSend.objects.get(contact=contact).id,
        "key": key.id,
        "enrolment": enrolment["id"],
    }
    secrets = [
        *ids.values(), key.key_prefix, "Acme secret subject", "acme-secret-plan", "Acme",
        "acme_secret_event", "vip@acme.example",
    ]  # fmt: skip
    return SimpleNamespace(organisation=organisation, ids=ids, secrets=secrets)


def acme_state(organisation) -> list[list[tuple]]:
    """Everything of Acme's a cross-tenant request could change."""
    mine = {"organisation": organisation}
    return [
        list(Contact.objects.filter(**mine).values_list("id", "email", "properties", "unsubscribed", "suppressed")),
        list(Template.objects.filter(**mine).values_list("slug", "version", "subject", "html")),
        list(Sequence.objects.filter(**mine).values_list("slug", "status", "version", "name", "definition")),
        list(ScheduledSend.objects.filter(**mine).values_list("id", "held")),
        list(Enrolment.objects.filter(**mine).values_list("id", "status")),
        list(Send.objects.filter(**mine).values_list("id", "status")),
        list(ApiKey.objects.filter(**mine).values_list("id", "revoked_at")),
        list(Event.objects.filter(**mine).values_list("id")),
        list(Domain.objects.filter(**mine).values_list("id", "name", "status", "sending_enabled")),
        list(Organisation.objects.filter(pk=organisation.pk).values_list("sandbox_whitelist", "sending_status")),
    ]


@pytest.fixture
def globex_staff(other_organisation):
    user = get_user_model().objects.create_user("globex-support", password="x", is_staff=True)
    StaffMembership.objects.create(user=user, organisation=other_organisation)
    client = APIClient()
    client.force_login(user)
    return client


def _format(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, id_ in ids.items():
            value = value.replace(f"{{{name}}}", id_)
        return value
    if isinstance(value, dict):
        return {key: _format(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize("route", api_routes())
def test_every_api_route_keeps_organisations_apart(route, acme, other_api, globex_staff):
    if route not in CASES:
        pytest.fail(f"{route} has no cross-tenant case: add one to CASES in {__name__}")
    for attempt in CASES[route]:
        client = globex_staff if attempt.as_staff else other_api
        before = acme_state(acme.organisation)
        body = _format(attempt.body, acme.ids)
        path, data = _format(attempt.path, acme.ids), None if body is None else json.dumps(body)
        response = client.generic(attempt.method, path, data, content_type="application/json")
        assert response.status_code == attempt.status, (attempt, response.content[:300])
        if attempt.status == 404:
            assert response.json()["error"]["code"] == "NOT_FOUND"
        shown, asked = response.content.decode(), f"{path} {data}"  # a 404 may repeat the id it was asked
        assert not [secret for secret in acme.secrets if secret in shown and secret not in asked], attempt
        assert acme_state(acme.organisation) == before, attempt


def test_every_case_names_a_real_route():
    assert sorted(set(CASES) - set(api_routes())) == []

"""The tenant as Kraiter documents it: enabled | paused | sandbox, a plan, and sandbox mode."""

import importlib
from io import StringIO
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import call_command

from kraiter.models import Organisation
from scheduling.dispatcher import dispatch_until_idle
from sends import delivery
from sends.models import Send
from tests.factories import ContactFactory, TemplateFactory
from tests.openapi import assert_matches_schema


@pytest.fixture
def sandboxed(api):
    api.organisation.sending_status = Organisation.SendingStatus.SANDBOX
    api.organisation.save()
    TemplateFactory(organisation=api.organisation, slug="hello")
    return api


def test_a_sandboxed_tenant_mails_only_its_whitelist(sandboxed):
    api = sandboxed
    assert api.post("/api/tenant/sandbox-whitelist", {"email": "Me@Example.com"}).status_code == 200
    allowed = api.post("/api/send", {"to": "me@example.com", "templateId": "hello"})
    assert allowed.status_code == 201
    refused = api.post("/api/send", {"to": "stranger@example.com", "templateId": "hello"})
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert "sandbox" in message and "ignoreUnsubscribe" not in message
    [rejected] = Send.objects.filter(email="stranger@example.com")
    assert rejected.status == "rejected" and "sandbox" in rejected.rejection_reason


def test_an_address_taken_off_the_whitelist_is_refused_at_delivery(sandboxed, settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path
    api = sandboxed
    api.post("/api/tenant/sandbox-whitelist", {"email": "me@example.com"})
    with mock.patch("sends.services.send_enqueue_delivery"):
        send_id = api.post("/api/send", {"to": "me@example.com", "templateId": "hello"}).json()["id"]
    removed = api.delete("/api/tenant/sandbox-whitelist?email=me@example.com")
    assert removed.status_code == 200 and removed.json()["emails"] == []
    assert delivery.deliver_send(send_id).outcome == "rejected"
    assert "sandbox" in Send.objects.get(pk=send_id).rejection_reason and not list(tmp_path.iterdir())


def test_sequence_mail_of_a_sandboxed_tenant_goes_only_to_the_whitelist(sandboxed):
    api = sandboxed
    api.put("/api/sequences/hi", {"id": "hi", "name": "Hi", "definition": "steps:\n  - send: hello"})
    api.post("/api/sequences/hi/activate")
    api.post("/api/tenant/sandbox-whitelist", {"email": "me@example.com"})
    for email in ("me@example.com", "you@example.com"):
        api.post("/api/sequences/hi/enrol", {"email": email})
    dispatch_until_idle()
    statuses = dict(Send.objects.values_list("email", "status"))
    assert statuses == {"me@example.com": "queued", "you@example.com": "rejected"}


def test_the_whitelist_api(sandboxed):
    api = sandboxed
    listed = api.get("/api/tenant/sandbox-whitelist")
    assert listed.status_code == 200 and listed.json() == {"emails": []}
    assert_matches_schema(listed, "GET", "/api/tenant/sandbox-whitelist")
    for n in range(50):
        assert api.post("/api/tenant/sandbox-whitelist", {"email": f"p{n}@example.com"}).status_code == 200
    again = api.post("/api/tenant/sandbox-whitelist", {"email": "p0@example.com"})  # already there: no change
    assert again.status_code == 200 and len(again.json()["emails"]) == 50
    full = api.post("/api/tenant/sandbox-whitelist", {"email": "one-more@example.com"})
    assert full.status_code == 400 and "at most 50" in full.json()["error"]["message"]
    assert api.post("/api/tenant/sandbox-whitelist", {"email": "not an address"}).status_code == 400
    assert api.delete("/api/tenant/sandbox-whitelist", {"email": "nobody@example.com"}).status_code == 404
    assert api.get("/api/tenant").json()["sandboxWhitelist"][:2] == ["p0@example.com", "p1@example.com"]


def test_new_organisations_start_in_sandbox_unless_enabled(db):
    out = StringIO()
    call_command("createorganisation", "Initech", stdout=out)
    assert Organisation.objects.get(pk=out.getvalue().strip()).sending_status == "sandbox"
    out = StringIO()
    call_command("createorganisation", "Hooli", "--enabled", stdout=out)
    assert Organisation.objects.get(pk=out.getvalue().strip()).sending_status == "enabled"


def test_the_demo_organisation_is_enabled(db):
    call_command("demo_setup", stdout=StringIO())
    assert Organisation.objects.get(name="Demo").sending_status == "enabled"


def test_active_organisations_become_enabled(db):
    migration = importlib.import_module("kraiter.migrations.0002_tenant_sending_status")
    active = Organisation.objects.create(name="Old", sending_status="active")
    paused = Organisation.objects.create(name="Held", sending_status="paused")
    migration.active_becomes_enabled(apps, None)
    active.refresh_from_db()
    paused.refresh_from_db()
    assert (active.sending_status, paused.sending_status) == ("enabled", "paused")


def test_a_paused_tenant_is_refused_and_says_so(api):
    TemplateFactory(organisation=api.organisation, slug="hello")
    ContactFactory(organisation=api.organisation, email="a@example.com")
    api.organisation.sending_status = "paused"
    api.organisation.save()
    response = api.post("/api/send", {"to": "a@example.com", "templateId": "hello"})
    assert response.status_code == 422 and "paused" in response.json()["error"]["message"]
    assert api.get("/api/tenant").json()["sendingStatus"] == "paused"

"""The embedded mode (`make run`: outbox backend, no AWS): domains go through the local stand-in,
which issues the same kind of records and verifies when asked, and the whole flow works."""

import email
import email.policy
import subprocess
import sys

import pytest

from domains.services import domains_check_due
from kraiter.management.commands.runall import startup_banner
from tests.factories import TemplateFactory


@pytest.fixture
def embedded(settings, tmp_path, local_identities):
    settings.EMAIL_BACKEND = "kraiter.mail.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path
    settings.ALLOW_DEFAULT_SENDER = False  # the flow below needs no operator default
    return tmp_path


def test_add_verify_and_send_from_a_domain_without_aws(api, embedded, django_capture_on_commit_callbacks):
    TemplateFactory(organisation=api.organisation, slug="receipt")
    added = api.post("/api/domains", {"domain": "acme.example"}).json()
    assert added["status"] == "pending"
    assert [r["purpose"] for r in added["dnsRecords"]] == ["dkim", "dkim", "dkim", "mail_from", "spf", "dmarc"]
    body = {"to": "bob@example.com", "templateId": "receipt", "from": "Acme <hi@acme.example>"}
    assert api.post("/api/send", body).status_code == 403
    assert api.post(f"/api/domains/{added['id']}/verify").json()["sendingEnabled"] is True
    with django_capture_on_commit_callbacks(execute=True):
        send_id = api.post("/api/send", body).json()["id"]
    message = email.message_from_bytes((embedded / f"{send_id}.eml").read_bytes(), policy=email.policy.default)
    assert message["From"] == "Acme <hi@acme.example>" and message["Message-ID"] == f"<{send_id}@acme.example>"


def test_the_beat_task_verifies_by_itself_only_when_the_setting_says_so(api, embedded, settings, clock):
    from datetime import timedelta

    domain_id = api.post("/api/domains", {"domain": "acme.example"}).json()["id"]
    clock.advance(timedelta(minutes=2))
    domains_check_due()
    assert api.get(f"/api/domains/{domain_id}").json()["status"] == "pending"
    settings.LOCAL_DOMAINS_AUTO_VERIFY = True
    clock.advance(timedelta(minutes=5))
    domains_check_due()
    assert api.get(f"/api/domains/{domain_id}").json()["status"] == "verified"


def test_the_startup_banner_names_the_identity_service(settings):
    settings.DOMAIN_IDENTITY_SERVICE = "local"
    assert "local stand-in" in startup_banner()
    settings.DOMAIN_IDENTITY_SERVICE, settings.ALLOW_DEFAULT_SENDER = "ses", False
    assert "Amazon SES v2" in startup_banner() and "not allowed" in startup_banner()


@pytest.mark.parametrize(
    ("backend", "service", "default_sender"),
    [("", "local", "True"), ("django_ses.SESBackend", "ses", "False")],
)
def test_one_setting_chooses_and_it_follows_the_mail_backend(backend, service, default_sender):
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kraiter.settings'); django.setup(); "
        "from django.conf import settings as s; print(s.DOMAIN_IDENTITY_SERVICE, s.ALLOW_DEFAULT_SENDER)"
    )
    env = {"PATH": "/usr/bin:/bin", "EMAIL_BACKEND": backend, "DEBUG": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [service, default_sender]

from io import StringIO

from django.core.management import call_command

from kraiter.models import Organisation
from scheduling.models import ScheduledSend
from sends.models import Send


def test_seed_demo_makes_a_consistent_demo_without_mailing_anyone(api, settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path
    out = StringIO()
    call_command("seed_demo", "--organisation", "Acme", "--contacts", "40", stdout=out, stderr=StringIO())
    assert "40 contacts" in out.getvalue()
    organisation = Organisation.objects.get(name="Acme")
    assert organisation == api.organisation
    sends = Send.objects.filter(organisation=organisation)
    assert sends.filter(source="sequence").exists() and sends.filter(source="transactional").exists()
    assert not sends.filter(status="queued").exists() and not list(tmp_path.iterdir())
    metrics = api.get("/api/metrics?period=month&from=2020-01-01").json()["totals"]
    assert metrics["sent"] == sends.exclude(sent_at=None).count()
    assert metrics["opened"] == sends.exclude(opened_at=None).count()
    assert ScheduledSend.objects.filter(organisation=organisation).exists()


def test_seed_demo_leaves_your_templates_and_sequences_alone_and_mails_nobody_later(api, settings, tmp_path):
    from scheduling.dispatcher import dispatch_until_idle
    from scheduling.models import Sequence
    from templates_app.models import Template

    settings.OUTBOX_DIR = tmp_path
    mine = {"name": "Mine", "subject": "My reset", "html": "<p>mine</p>"}
    assert api.put("/api/templates/password-reset", {"id": "password-reset", **mine}).status_code in (200, 201)
    definition = "trigger: {event: signed_up}\nsteps:\n  - send: password-reset"
    api.put("/api/sequences/onboarding", {"name": "Mine", "definition": definition})
    call_command("seed_demo", "--organisation", "Acme", "--contacts", "40", stdout=StringIO(), stderr=StringIO())
    template = Template.objects.get(organisation=api.organisation, slug="password-reset")
    assert (template.name, template.subject) == ("Mine", "My reset")
    assert Sequence.objects.get(organisation=api.organisation, slug="onboarding").name == "Mine"
    sends_before = Send.objects.count()
    dispatch_until_idle(max_batches=20)
    assert Send.objects.count() == sends_before and not list(tmp_path.iterdir())
    assert ScheduledSend.objects.exists() and not ScheduledSend.objects.filter(held=False).exists()

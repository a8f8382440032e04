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

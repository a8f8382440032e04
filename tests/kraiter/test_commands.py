from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from kraiter.models import Organisation


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_createorganisation_and_createapikey_give_a_working_key(db):
    organisation_id = run("createorganisation", "Initech")
    raw_key = run("createapikey", "--organisation", organisation_id, "--name", "backend")
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw_key}").get("/api/tenant")
    assert response.json() == {**response.json(), "tenantId": organisation_id, "name": "Initech"}


def test_createapikey_finds_the_organisation_by_name(db):
    run("createorganisation", "Hooli")
    assert run("createapikey", "--organisation", "Hooli").startswith("kr_")


def test_commands_refuse_bad_input(db):
    with pytest.raises(CommandError, match="No organisation"):
        run("createapikey", "--organisation", "Nobody")
    with pytest.raises(CommandError, match="name"):
        run("createorganisation", "   ")
    assert Organisation.objects.count() == 0


def test_demo_setup_is_repeatable_and_prints_a_working_curl(db):
    first = run("demo_setup")
    second = run("demo_setup")
    key = next(word for word in second.split() if word.startswith("kr_"))
    assert "curl" in second and "/api/send" in second
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/tenant").status_code == 200
    old_key = next(word for word in first.split() if word.startswith("kr_"))
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {old_key}").get("/api/tenant").status_code == 401
    assert Organisation.objects.filter(name="Demo").count() == 1


def test_writing_commands_have_a_dry_run_that_writes_nothing(db):
    from scheduling.models import Sequence

    err = StringIO()
    call_command("createorganisation", "Ghost", "--dry-run", stdout=StringIO(), stderr=err)
    assert "rolled back" in err.getvalue() and not Organisation.objects.filter(name="Ghost").exists()
    run("createorganisation", "Real")
    call_command("createapikey", "--organisation", "Real", "--dry-run", stdout=StringIO(), stderr=StringIO())
    assert not Organisation.objects.get(name="Real").api_keys.exists()
    call_command(
        "seed_demo", "--organisation", "Real", "--contacts", "5", "--dry-run", stdout=StringIO(), stderr=StringIO()
    )
    assert not Sequence.objects.exists()
    with pytest.raises(CommandError, match="cannot --loop"):
        call_command("dispatch_scheduled", "--loop", "--dry-run", stdout=StringIO())

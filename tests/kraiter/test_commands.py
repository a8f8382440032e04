import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
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


def key_in(output: str) -> str:
    found = re.search(r"kr_[A-Za-z0-9_-]+", output)
    assert found, output
    return found.group(0)


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_demo_setup_is_repeatable_and_keeps_its_key_across_restarts(db, var_dir):
    first = run("demo_setup")
    second = run("demo_setup")
    key = key_in(second)
    assert "curl" in second and "/api/send" in second
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/tenant").status_code == 200
    assert key_in(first) == key  # an exported KEY keeps working
    assert Organisation.objects.filter(name="Demo").count() == 1
    password = re.search(r"admin / (\S+)", second)
    assert password and get_user_model().objects.get(username="admin").check_password(password.group(1))
    assert second.rstrip().splitlines()[-1].startswith("+--")  # the box comes last


def test_demo_setup_makes_a_new_key_only_when_the_kept_one_stopped_working(db, var_dir):
    from kraiter.models import ApiKey

    first = key_in(run("demo_setup"))
    ApiKey.objects.update(revoked_at=timezone.now())
    second = key_in(run("demo_setup"))
    assert second != first and APIClient(HTTP_AUTHORIZATION=f"Bearer {second}").get("/api/tenant").status_code == 200


def test_demo_setup_never_overwrites_the_welcome_template(db, var_dir):
    from templates_app.models import Template

    run("demo_setup")
    Template.objects.filter(slug="welcome-email").update(subject="Mine")
    run("demo_setup")
    assert Template.objects.get(slug="welcome-email").subject == "Mine"


def test_demo_setup_prints_the_port_it_runs_on(db, var_dir, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8102"
    out = run("demo_setup")
    assert "http://127.0.0.1:8102/admin/" in out and ":8000" not in out


def test_createorganisation_with_a_missing_staff_user_says_how_to_make_one(db):
    with pytest.raises(CommandError, match="createsuperuser --username alice"):
        run("createorganisation", "Acme", "--staff-user", "alice")
    get_user_model().objects.create_user("alice")
    assert run("createorganisation", "Acme", "--staff-user", "alice").startswith("org_")


def test_createapikey_dry_run_prints_no_real_looking_key(db):
    run("createorganisation", "Real")
    out = StringIO()
    call_command("createapikey", "--organisation", "Real", "--dry-run", stdout=out, stderr=StringIO())
    assert "NOT-A-KEY" in out.getvalue() and not re.search(r"kr_[A-Za-z0-9]{20,}", out.getvalue())


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


def test_the_front_door_is_a_small_page_not_a_debug_404(client, settings):
    settings.DEBUG = True
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/api/docs/"' in page.content.decode() and 'href="/admin/"' in page.content.decode()


def test_make_runs_demo_setup_leaves_the_box_for_runall_to_print_once(db, var_dir):
    # `make run` calls `demo_setup --box-later`, then `runall` prints var/demo-box.txt last
    output = run("demo_setup", "--box-later")
    box = (var_dir / "demo-box.txt").read_text()
    assert "API key:" in box and "API key:" not in output
    assert key_in(box) == key_in(output)  # the curl lines still carry the key
    assert "API key:" in run("demo_setup")  # run by hand, it shows the box itself

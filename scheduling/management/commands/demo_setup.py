import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from kraiter.models import Organisation, StaffMembership
from kraiter.services import api_key_authenticate, api_key_create, organisation_create
from templates_app.models import Template
from templates_app.services import TemplateInput, template_upsert

DEMO_ORGANISATION = "Demo"
DEMO_KEY_NAME = "make run"
DEMO_TEMPLATE = {
    "name": "Welcome email",
    "subject": "Welcome, {{ firstName | default: 'friend' }}!",
    "mjml": (
        "<mjml><mj-body><mj-section><mj-column>"
        "<mj-text font-size='20px'>Hello {{ firstName | default: 'there' }}!</mj-text>"
        "<mj-text>Thanks for signing up.</mj-text>"
        "<mj-button href='https://example.com'>Get started</mj-button>"
        "<mj-text font-size='11px'><a href='{{ unsubscribeUrl }}'>Unsubscribe</a></mj-text>"
        "</mj-column></mj-section></mj-body></mjml>"
    ),
}


def credentials_path() -> Path:
    """The demo's key and first admin password, kept so a restart prints the same ones."""
    return Path(settings.VAR_DIR) / "demo-credentials.json"


def box_path() -> Path:
    """The box `runall` prints once everything has started, so it is the last thing on screen."""
    return Path(settings.VAR_DIR) / "demo-box.txt"


class Command(BaseCommand):
    help = (
        "Prepares the demo of `make run`: a Demo organisation, an admin user, a welcome-email template "
        "(made once; yours is never overwritten) and an API key kept in var/ so it survives restarts. "
        "Prints the key, curl lines and the admin's password."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--box-later",
            action="store_true",
            help="Keep the key's box for `runall` to print once everything has started (what `make run` does).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stored = self._stored()
        with transaction.atomic():
            organisation = Organisation.objects.filter(name=DEMO_ORGANISATION).first()
            if organisation is None:  # enabled, so the README's examples mail anyone (into var/outbox/)
                organisation = organisation_create(
                    name=DEMO_ORGANISATION, sending_status=Organisation.SendingStatus.ENABLED
                )
            password = self._ensure_admin(organisation, stored.get("password"))
            if not Template.objects.filter(organisation=organisation, slug="welcome-email").exists():
                template_upsert(
                    organisation=organisation,
                    slug="welcome-email",
                    data=TemplateInput(text=None, variables=["firstName"], html=None, **DEMO_TEMPLATE),
                )
            raw_key = str(stored.get("key") or "")
            known = api_key_authenticate(raw_key=raw_key) if raw_key else None
            if known is None or known.organisation_id != organisation.id:
                raw_key = api_key_create(organisation=organisation, name=DEMO_KEY_NAME).raw_key
        path = credentials_path()
        path.write_text(json.dumps({"key": raw_key, "password": password}))
        path.chmod(0o600)
        self.stdout.write(self._try_it(organisation, raw_key))
        box = self._box(raw_key, password)
        box_path().write_text(box)
        if not options["box_later"]:
            self.stdout.write(box)

    def _stored(self) -> dict[str, Any]:
        try:
            return dict(json.loads(credentials_path().read_text()))
        except (OSError, ValueError, TypeError):
            return {}

    def _ensure_admin(self, organisation: Organisation, stored_password: str | None) -> str | None:
        """Creates the admin user once. Returns its password while it is still the one made here
        (None once someone changed it, or when the user was made some other way)."""
        users = get_user_model()
        user = users.objects.filter(username="admin").first()
        password = stored_password
        if user is None:
            password = secrets.token_urlsafe(12)
            user = users.objects.create_superuser(username="admin", email="admin@example.com", password=password)
        StaffMembership.objects.get_or_create(user=user, defaults={"organisation": organisation})
        return password if password and user.check_password(password) else None

    def _try_it(self, organisation: Organisation, raw_key: str) -> str:
        base = settings.PUBLIC_BASE_URL
        return "\n".join(
            [
                "",
                f"Demo organisation: {organisation.name} ({organisation.id})",
                "Try it:",
                f'  curl -s {base}/api/tenant -H "Authorization: Bearer {raw_key}"',
                f"  curl -s -X POST {base}/api/send -H 'Authorization: Bearer {raw_key}' \\",
                "       -H 'Content-Type: application/json' \\",
                """       -d '{"to": "alice@example.com", "templateId": "welcome-email",""",
                """            "variables": {"firstName": "Alice"}}'""",
                f"  The email lands in {settings.OUTBOX_DIR}/ as a .eml file.",
                "",
            ]
        )

    def _box(self, raw_key: str, password: str | None) -> str:
        base = settings.PUBLIC_BASE_URL
        login = f"admin / {password}" if password else "admin (`.venv/bin/python manage.py changepassword admin`)"
        lines = [
            f"API key:   {raw_key}   (kept in var/; the same after a restart)",
            f"Admin:     {base}/admin/   {login}",
            f"API docs:  {base}/api/docs/",
            f"Try:       export KEY={raw_key} API={base}/api",
        ]
        width = max(len(line) for line in lines)
        edge = "+" + "-" * (width + 2) + "+"
        return "\n".join(["", edge, *(f"| {line.ljust(width)} |" for line in lines), edge, ""])

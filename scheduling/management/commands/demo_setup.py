import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from kraiter.models import ApiKey, Organisation, StaffMembership
from kraiter.services import api_key_create, api_key_revoke, organisation_create
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


class Command(BaseCommand):
    help = (
        "Prepares the demo of `make run`: a Demo organisation, an admin user, a welcome-email template "
        "and a fresh API key (the previous demo key is revoked). Prints the key and a curl line."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            organisation = Organisation.objects.filter(name=DEMO_ORGANISATION).first()
            if organisation is None:  # enabled, so the README's examples mail anyone (into var/outbox/)
                organisation = organisation_create(
                    name=DEMO_ORGANISATION, sending_status=Organisation.SendingStatus.ENABLED
                )
            password = self._ensure_admin(organisation)
            template_upsert(
                organisation=organisation,
                slug="welcome-email",
                data=TemplateInput(text=None, variables=["firstName"], html=None, **DEMO_TEMPLATE),
            )
            for old in ApiKey.objects.filter(organisation=organisation, name=DEMO_KEY_NAME, revoked_at=None):
                api_key_revoke(organisation=organisation, key_id=old.id)
            raw_key = api_key_create(organisation=organisation, name=DEMO_KEY_NAME).raw_key

        base = settings.PUBLIC_BASE_URL
        lines = [
            "",
            f"Demo organisation: {organisation.name} ({organisation.id})",
            f"API key (shown once; a new one is made on every `make run`): {raw_key}",
            "",
            "Try it:",
            f'  curl -s {base}/api/tenant -H "Authorization: Bearer {raw_key}"',
            f"  curl -s -X POST {base}/api/send -H 'Authorization: Bearer {raw_key}' \\",
            "       -H 'Content-Type: application/json' \\",
            """       -d '{"to": "alice@example.com", "templateId": "welcome-email",""",
            """            "variables": {"firstName": "Alice"}}'""",
            f"  The email lands in {settings.OUTBOX_DIR}/ as a .eml file.",
            "",
            f"API docs: {base}/api/docs/",
            f"Admin:    {base}/admin/  (user admin"
            + (f", password {password})" if password else "; `python manage.py changepassword admin` to reset)"),
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _ensure_admin(self, organisation: Organisation) -> str | None:
        """Creates the admin user once; returns its password only when it was just created."""
        users = get_user_model()
        user = users.objects.filter(username="admin").first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = users.objects.create_superuser(username="admin", email="admin@example.com", password=password)
        StaffMembership.objects.get_or_create(user=user, defaults={"organisation": organisation})
        return password

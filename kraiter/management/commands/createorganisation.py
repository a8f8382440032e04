from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from kraiter.errors import ServiceError
from kraiter.management.base import WritingCommand
from kraiter.models import Organisation
from kraiter.services import organisation_create


class Command(WritingCommand):
    help = "Creates an organisation (a tenant). Prints its id."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name", help="The organisation's name.")
        parser.add_argument(
            "--enabled",
            action="store_true",
            help="Start with sending enabled (default: sandbox mode, mail only to the sandbox whitelist).",
        )
        parser.add_argument(
            "--staff-user",
            help="Username of a staff user who will act for this organisation in the admin and /api/keys.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["staff_user"]:
            user = get_user_model().objects.filter(username=options["staff_user"]).first()
            if user is None:
                name = options["staff_user"]
                raise CommandError(
                    f"No user named {name!r}. Make one first with `.venv/bin/python manage.py createsuperuser "
                    f"--username {name} --email {name}@example.com`, or leave --staff-user out."
                )
        try:
            status = Organisation.SendingStatus.ENABLED if options["enabled"] else Organisation.SendingStatus.SANDBOX
            organisation = organisation_create(name=options["name"], staff_user=user, sending_status=status)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(organisation.id)

from typing import Any

from django.core.management.base import CommandError, CommandParser

from kraiter.errors import ServiceError
from kraiter.management.base import WritingCommand
from kraiter.models import Organisation
from kraiter.services import api_key_create


class Command(WritingCommand):
    help = "Creates an API key for an organisation and prints it. The key is shown only this once."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--organisation", required=True, help="The organisation's id (org_...) or exact name.")
        parser.add_argument("--name", default="default", help="A name to recognise the key by.")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = find_organisation(options["organisation"])
        try:
            created = api_key_create(organisation=organisation, name=options["name"])
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        if options["dry_run"]:  # rolled back afterwards: show nothing that looks like it would work
            self.stdout.write("kr_DRY-RUN-NOT-A-KEY (a key would be printed here, once)")
            return
        self.stdout.write(created.raw_key)


def find_organisation(reference: str) -> Organisation:
    """An organisation by id or by exact name, for every command that takes --organisation."""
    from kraiter.api.ids import is_valid_id

    if is_valid_id(reference, "org"):
        found = Organisation.objects.filter(pk=reference).first()
    else:
        matches = list(Organisation.objects.filter(name=reference)[:2])
        if len(matches) > 1:
            raise CommandError(f"Several organisations are named {reference!r}; use the id.")
        found = matches[0] if matches else None
    if found is None:
        raise CommandError(f"No organisation {reference!r}.")
    return found

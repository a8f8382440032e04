from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kraiter.api.fields import parse_timestamp
from kraiter.management.commands.createapikey import find_organisation
from kraiter.models import Organisation
from kraiter.progress import ProgressBar
from sends.engagement.rollups import rollups_backfill


class Command(BaseCommand):
    help = (
        "Rebuilds the metrics rollups of a time range from the sends and their unsubscribe events "
        "(idempotent; one day per transaction, "
        "so memory stays flat and an interrupted run can simply be run again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="Start, ISO 8601 (e.g. 2025-09-01).")
        parser.add_argument("--to", dest="end", required=True, help="End (exclusive), ISO 8601.")
        parser.add_argument("--organisation", help="Only this organisation (id or name); default: all.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be rebuilt; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start, end = parse_timestamp(options["start"]), parse_timestamp(options["end"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if start >= end:
            raise CommandError("--from must be before --to.")
        if options["organisation"]:
            organisations = [find_organisation(options["organisation"])]
        else:
            organisations = list(Organisation.objects.order_by("id"))
        counted = rollups_backfill(
            start=start,
            end=end,
            organisations=organisations,
            dry_run=options["dry_run"],
            progress=ProgressBar("Rebuilding days", stream=self.stderr),
        )
        verb = "Would count" if options["dry_run"] else "Counted"
        self.stdout.write(f"{verb} {counted} events for {len(organisations)} organisation(s).")

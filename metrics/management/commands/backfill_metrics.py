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
        parser.add_argument(
            "--from",
            dest="start",
            required=True,
            help="Start: a date (2025-09-01, midnight UTC) or an ISO 8601 timestamp with a zone.",
        )
        parser.add_argument(
            "--to", dest="end", required=True, help="End (exclusive): a date or a timestamp, as --from."
        )
        parser.add_argument("--organisation", help="Only this organisation (id or name); default: all.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be rebuilt; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = moment(options["start"], "--from"), moment(options["end"], "--to")
        if start >= end:
            raise CommandError("--from must be before --to.")
        if options["organisation"]:
            organisations = [find_organisation(options["organisation"])]
        else:
            organisations = list(Organisation.objects.order_by("id"))
        bar = ProgressBar("Rebuilding days", stream=self.stderr, unit="days")
        counted = rollups_backfill(
            start=start,
            end=end,
            organisations=organisations,
            dry_run=options["dry_run"],
            progress=bar,
        )
        bar.close()
        verb = "Would count" if options["dry_run"] else "Counted"
        self.stdout.write(f"{verb} {counted} events for {len(organisations)} organisation(s).")


def moment(value: str, option: str) -> Any:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise CommandError(
            f"{option} {value!r} is neither a date (2025-09-01, midnight UTC) nor a timestamp with a time "
            "zone (2025-09-01T08:00:00Z)."
        ) from None

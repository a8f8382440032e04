import csv
import io
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.imports import ImportReport, batched, contacts_import_batch, read_contact_rows
from kraiter.errors import InvalidInput
from kraiter.management.commands.createapikey import find_organisation
from kraiter.progress import FileProgress, ProgressBar


class Command(BaseCommand):
    help = (
        "Imports contacts from a CSV with an 'email' column; every other column becomes a property. "
        "Existing contacts (same email, any case) get the properties merged in. Rows that cannot be "
        "imported are listed with the reason in a report CSV. Safe to interrupt and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8, header row first).")
        parser.add_argument("--organisation", required=True, help="The organisation's id (org_...) or exact name.")
        parser.add_argument("--report", help="Where to write the rejected rows (default: FILE.rejected.csv).")
        parser.add_argument("--dry-run", action="store_true", help="Check and count; write nothing.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        organisation = find_organisation(options["organisation"])
        report = ImportReport()
        source = FileProgress(str(path))
        bar = ProgressBar("Importing", stream=self.stderr)
        try:
            rows = read_contact_rows(source.lines(), report)
            for batch in batched(rows, options["batch_size"]):
                contacts_import_batch(organisation=organisation, rows=batch, report=report, dry_run=options["dry_run"])
                bar(source.done, source.size)
        except (InvalidInput, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{path}: {getattr(exc, 'message', exc)}") from None
        bar(source.size, source.size)
        prefix = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{prefix} {report.accepted} contacts: {report.created} new, {report.updated} updated, "
            f"{report.unchanged} unchanged; {len(report.rejected)} rejected."
        )
        if report.rejected:
            report_path = Path(options["report"] or f"{path}.rejected.csv")
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["line", "email", "reason"])
            writer.writerows(report.rejected)
            report_path.write_text(buffer.getvalue(), encoding="utf-8")
            self.stdout.write(f"Rejected rows and why: {report_path}")

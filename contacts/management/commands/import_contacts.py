import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.imports import REPORT_COLUMNS, ImportReport, batched, contacts_import_batch, read_contact_rows
from kraiter.errors import InvalidInput
from kraiter.management.commands.createapikey import find_organisation
from kraiter.progress import ProgressBar, count_lines, file_encoding_problem, text_lines


class Command(BaseCommand):
    help = (
        "Imports contacts from a CSV with an 'email' column; every other column becomes a property. "
        "Existing contacts (same email, any case) get the properties merged in. Rows that cannot be "
        "imported are written, whole and with the reason, to a report CSV that can be fixed and "
        "imported again. Safe to interrupt and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8, header row first).")
        parser.add_argument("--organisation", required=True, help="The organisation's id (org_...) or exact name.")
        parser.add_argument("--report", help="Where to write the rejected rows (default: FILE.rejected.csv).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count; write nothing, not even the report."
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows per transaction (default 1000).")
        parser.add_argument("--delimiter", default=",", help="The cell separator (default ','; e.g. ';' from Excel).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        if problem := file_encoding_problem(path):
            raise CommandError(f"{path}: {problem}.")
        organisation = find_organisation(options["organisation"])
        report = ImportReport()
        bar = ProgressBar("Importing", stream=self.stderr)
        total = max(count_lines(path) - 1, 0)
        done = 0
        try:
            rows = read_contact_rows(text_lines(path), report, delimiter=options["delimiter"])
            for batch in batched(rows, options["batch_size"]):
                contacts_import_batch(organisation=organisation, rows=batch, report=report, dry_run=options["dry_run"])
                done = batch[-1].line - 1
                bar(min(done, total), total)
        except UnicodeDecodeError:
            raise CommandError(
                f"{path}: line {done + 2} or near it is not UTF-8 text; save the file as 'CSV UTF-8'."
            ) from None
        except (InvalidInput, csv.Error) as exc:
            raise CommandError(f"{path}: {getattr(exc, 'message', exc)}") from None
        bar(total, total)
        bar.close()
        self._summary(path, report, options)

    def _summary(self, path: Path, report: ImportReport, options: dict[str, Any]) -> None:
        dry_run = options["dry_run"]
        self.stdout.write(
            f"{'Would import' if dry_run else 'Imported'} {report.accepted} contacts: {report.created} new, "
            f"{report.updated} updated, {report.unchanged} unchanged; {report.duplicates} rows repeated an "
            f"address of an earlier row (merged into it); {len(report.rejected)} rejected."
        )
        if not report.rejected:
            return
        report_path = Path(options["report"] or f"{path}.rejected.csv")
        if dry_run:
            for rejected in report.rejected[:10]:
                self.stdout.write(f"  line {rejected.line}: {rejected.reason}")
            self.stdout.write(f"Dry run: the rejected rows would be written to {report_path}.")
            return
        with open(report_path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=options["delimiter"])
            writer.writerow([*report.header, *REPORT_COLUMNS])
            for rejected in report.rejected:
                cells = rejected.cells + [""] * (len(report.header) - len(rejected.cells))
                writer.writerow([*cells, rejected.line, rejected.reason])
        self.stdout.write(
            f"Rejected rows, whole and with the reason: {report_path} (fix them and import that file as it is)."
        )

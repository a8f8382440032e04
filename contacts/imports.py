"""Importing contacts from CSV in batches (import_contacts): upsert by email, properties merged.

A batch is one transaction: two queries to find and update the existing contacts, one insert
for the new ones. Running the same file again changes nothing more, so an interrupted import is
finished by running it again.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contacts_new
from kraiter.emails import email_lookup_key, normalise_email
from kraiter.errors import InvalidInput
from kraiter.models import Organisation
from kraiter.untrusted import format_path, text_problem

BATCH_SIZE = 1000


@dataclass(frozen=True)
class CsvRow:
    line: int
    email: str
    properties: dict[str, str]


# The two columns the rejects report adds to the original ones; an import ignores them, so the
# report, once fixed, is imported as it is.
REPORT_COLUMNS = ("rejected_line", "rejected_reason")


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    cells: list[str]  # the row as it was in the file, column by column


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # rows whose address an earlier row of the file already had
    header: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


def read_contact_rows(lines: Iterable[str], report: ImportReport, *, delimiter: str = ",") -> Iterator[CsvRow]:
    """Rows with a valid email; the others go to `report.rejected` with the reason. Text the
    database cannot store (a NUL) is refused: in the header for the whole file, in a row for it."""
    reader = csv.DictReader(lines, delimiter=delimiter)
    fieldnames = list(reader.fieldnames or [])
    for name in fieldnames:
        if problem := text_problem(name):
            raise InvalidInput(f"The CSV header '{format_path((name,))}' {problem}.")
    report.header = [name for name in fieldnames if name not in REPORT_COLUMNS]
    columns = {name.strip().lower(): name for name in report.header}
    if "email" not in columns:
        raise InvalidInput(_no_email_column(fieldnames, delimiter))
    email_column = columns["email"]
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        cells = [row.get(name) or "" for name in report.header] + list(row.get(None) or [])  # type: ignore[call-overload]
        if None in row:  # more cells than headers
            report.rejected.append(Rejected(line, "more cells than the header has columns", cells))
            continue
        if problem := _unstorable_cell(row):
            report.rejected.append(Rejected(line, problem, [cell.replace("\x00", "") for cell in cells]))
            continue
        try:
            email = normalise_email((row.get(email_column) or "").strip())
        except InvalidInput as exc:
            report.rejected.append(Rejected(line, exc.message, cells))
            continue
        key = email_lookup_key(email)
        report.duplicates += key in seen
        seen.add(key)
        properties = {
            key.strip(): value
            for key, value in row.items()
            if key is not None
            and key not in (email_column, *REPORT_COLUMNS)
            and key.strip()
            and value not in (None, "")
        }
        yield CsvRow(line, email, properties)


def _no_email_column(fieldnames: list[str], delimiter: str) -> str:
    header = delimiter.join(fieldnames)
    for other in ";\t|":
        if other != delimiter and "email" in [name.strip().lower() for name in header.split(other)]:
            shown = "\\t" if other == "\t" else other
            return (
                f"The CSV's header has no 'email' column, but it has one when split at '{shown}': "
                f"the file is separated by '{shown}', not commas. Run again with --delimiter '{shown}'."
            )
    return "The CSV needs a header row with an 'email' column."


def _unstorable_cell(row: dict[str, str]) -> str | None:
    for column, cell in row.items():
        if cell and (problem := text_problem(cell)):
            return f"the '{format_path((column,))}' cell {problem}"
    return None


def contacts_import_batch(
    *, organisation: Organisation, rows: Iterable[CsvRow], report: ImportReport, dry_run: bool
) -> None:
    """Upserts one batch: new emails are created, existing contacts get the properties merged in."""
    merged: dict[str, CsvRow] = {}
    for row in rows:  # the same address twice in a batch: later cells win, as they would in two batches
        key = email_lookup_key(row.email)
        previous = merged.get(key)
        merged[key] = (
            row if previous is None else CsvRow(row.line, previous.email, {**previous.properties, **row.properties})
        )
    if not merged:
        return
    with transaction.atomic():
        existing = {
            contact.email_key: contact
            for contact in Contact.objects.annotate(email_key=Lower("email"))
            .filter(organisation=organisation, email_key__in=list(merged))
            .select_for_update()
        }
        changed: list[Contact] = []
        new_rows: list[tuple[str, dict[str, Any]]] = []
        now = timezone.now()
        for key, row in merged.items():
            contact = existing.get(key)
            if contact is None:
                new_rows.append((row.email, row.properties))
                continue
            properties = {**contact.properties, **row.properties}
            if properties == contact.properties:
                report.unchanged += 1
                continue
            contact.properties, contact.updated_at = properties, now
            changed.append(contact)
        report.created += len(new_rows)
        report.updated += len(changed)
        if not dry_run:
            Contact.objects.bulk_update(changed, ["properties", "updated_at"])
            Contact.objects.bulk_create(contacts_new(organisation=organisation, emails_and_properties=new_rows))


def batched(rows: Iterable[Any], size: int = BATCH_SIZE) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kraiter.progress import ProgressBar, count_lines, file_encoding_problem, text_lines
from kraiter.untrusted import UntrustedInput
from sends.engagement.ses import SES_EVENT_TYPES, ses_event_type, ses_export_line_parse, ses_notification_receive


class Command(BaseCommand):
    help = (
        "Replays SES event notifications from a JSON-lines export (SNS notifications, SQS messages or "
        "Firehose records, one per line) through the same service as the webhook. Events already "
        "applied are skipped, so the same file can be imported twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The .jsonl export (UTF-8, one JSON document a line).")
        parser.add_argument("--dry-run", action="store_true", help="Read and classify the lines; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        if problem := file_encoding_problem(path):
            raise CommandError(f"{path}: {problem}.")
        total = count_lines(path)
        bar = ProgressBar("Importing events", stream=self.stderr, unit="lines")
        outcomes: Counter[str] = Counter()
        problems: list[str] = []
        for number, line in enumerate(text_lines(path), start=1):
            bar(number, total)
            if not line.strip():
                continue
            try:
                event = ses_export_line_parse(line)
            except (ValueError, TypeError, UntrustedInput) as exc:
                outcomes["unreadable"] += 1
                if len(problems) < 20:
                    problems.append(f"line {number}: {exc}")
                continue
            if options["dry_run"]:
                outcomes["readable" if ses_event_type(event.message) in SES_EVENT_TYPES else "ignored"] += 1
            else:
                outcomes[ses_notification_receive(record=event.record, message=event.message)] += 1
        bar.close()
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items())) or "nothing"
        self.stdout.write(("Would import: " if options["dry_run"] else "Imported: ") + summary + ".")
        if outcomes["ignored"]:
            self.stdout.write(
                "  ignored: events of a type we do not use (e.g. Send, Subscription) or for no send of ours "
                "(another system's mail on the same configuration set); nothing to do about them."
            )
        if outcomes["duplicate"]:
            self.stdout.write("  duplicate: already applied before (from the webhook or an earlier import).")
        for problem in problems:
            self.stdout.write(f"  {problem}")
        if outcomes["unreadable"]:
            raise CommandError(
                f"{outcomes['unreadable']} line(s) could not be read (the first ones are listed above); "
                "every other line was imported. Fix or remove them and run it again: nothing is applied twice."
            )

"""The base of commands that write: --dry-run does everything, then rolls it all back."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction


class WritingCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Do it all inside a transaction, report, and roll it back."
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        if not options.get("dry_run"):
            return super().execute(*args, **options)
        with transaction.atomic():
            result = super().execute(*args, **options)
            transaction.set_rollback(True)
        # Plain, not Django's error style: a dry run that did what was asked is not an error.
        self.stderr.write("Dry run: all of that was rolled back; nothing was written.", style_func=str)
        return result

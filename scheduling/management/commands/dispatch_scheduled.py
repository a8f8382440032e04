import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from kraiter.management.base import WritingCommand
from scheduling.dispatcher import DEFAULT_BATCH_SIZE, dispatch_until_idle


class Command(WritingCommand):
    help = (
        "Turns due scheduled sends into sends (what Celery beat runs every few seconds). Safe to run "
        "beside beat and other copies of itself: each due row is sent exactly once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--loop", action="store_true", help="Keep dispatching until interrupted.")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Due rows claimed per transaction."
        )
        parser.add_argument(
            "--interval", type=float, default=settings.DISPATCH_INTERVAL_SECONDS, help="Seconds between idle ticks."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loop"] and options["dry_run"]:
            raise CommandError("--dry-run dispatches once and rolls back; it cannot --loop.")
        while True:
            claimed = dispatch_until_idle(batch_size=options["batch_size"])
            if claimed or not options["loop"]:
                self.stdout.write(f"Dispatched {claimed} scheduled send(s).")
            if not options["loop"]:
                return
            try:
                time.sleep(options["interval"])
            except KeyboardInterrupt:
                return

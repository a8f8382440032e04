from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.models import Event
from contacts.services import events_purge
from kraiter.api.pagination import id_key, keyset_batches, timestamp_key
from kraiter.durations import cutoff_before_now
from kraiter.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Deletes events (custom and email.*) that happened before --older-than (e.g. 365d), oldest first, in "
        "batches, so it can be stopped and run again. Sends, contacts and the metrics are kept: the rollups "
        "already counted these events (backfill_metrics cannot recount unsubscribes older than the cutoff)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="Retention, e.g. 365d or 52w.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=5000, help="Events per transaction (default 5000).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cutoff = cutoff_before_now(options["older_than"])
        except ValueError as exc:
            raise CommandError(f"--older-than: {exc}") from None
        older = Event.objects.filter(timestamp__lt=cutoff).only("id", "timestamp")
        keys = [timestamp_key("timestamp", "timestamp", descending=False), id_key("evt", descending=False)]
        bar = ProgressBar("Purging events", stream=self.stderr)
        count = 0
        for batch in keyset_batches(older, keys=keys, size=options["batch_size"]):
            if not options["dry_run"]:
                events_purge(event_ids=[event.id for event in batch])
            count += len(batch)
            bar(count)
        bar.close()
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} {count} event(s) older than {options['older_than']}.")

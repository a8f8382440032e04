from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kraiter.api.pagination import id_key, keyset_batches, timestamp_key
from kraiter.durations import cutoff_before_now
from kraiter.progress import ProgressBar
from sends.models import Send
from sends.services import send_enqueue_delivery


class Command(BaseCommand):
    help = (
        "Re-enqueues the delivery of sends still queued after --older-than (e.g. 10m, 2h, 1d): for a broker "
        "that lost messages, or workers that were down. Harmless for sends a worker is on: a delivery "
        "claims the send first, so none goes out twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", default="10m", help="Queued for longer than this (default 10m).")
        parser.add_argument("--dry-run", action="store_true", help="Count them; enqueue nothing.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Sends per batch (default 1000).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cutoff = cutoff_before_now(options["older_than"])
        except ValueError as exc:
            raise CommandError(f"--older-than: {exc}") from None
        stuck = Send.objects.filter(status=Send.Status.QUEUED, created_at__lt=cutoff).only("id")
        keys = [timestamp_key("createdAt", "created_at", descending=False), id_key("snd", descending=False)]
        bar = ProgressBar("Re-enqueueing", stream=self.stderr)
        count = 0
        for batch in keyset_batches(stuck, keys=keys, size=options["batch_size"]):
            if not options["dry_run"]:
                send_enqueue_delivery([send.id for send in batch])
            count += len(batch)
            bar(count)
        bar.close()
        verb = "Would re-enqueue" if options["dry_run"] else "Re-enqueued"
        self.stdout.write(f"{verb} {count} send(s) queued for more than {options['older_than']}.")

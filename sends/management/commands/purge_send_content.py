from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kraiter.api.ids import id_floor
from kraiter.api.pagination import id_key, keyset_batches
from kraiter.durations import cutoff_before_now
from kraiter.progress import ProgressBar
from sends.models import SendContent
from sends.services import send_contents_purge


class Command(BaseCommand):
    help = (
        "Deletes the stored bodies (HTML and text) of sends older than --older-than (e.g. 90d); the send "
        "log rows stay. Walks the table in id order in batches, so it can be stopped and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="Retention, e.g. 90d or 26w.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=5000, help="Sends per transaction (default 5000).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cutoff = cutoff_before_now(options["older_than"])
        except ValueError as exc:
            raise CommandError(f"--older-than: {exc}") from None
        # Send ids begin with their creation time, so "older than" is a range of the primary key.
        older = SendContent.objects.filter(send_id__lt=id_floor("snd", cutoff)).only("send_id")
        bar = ProgressBar("Purging", stream=self.stderr)
        count = 0
        for batch in keyset_batches(
            older, keys=[id_key("snd", field="send_id", descending=False)], size=options["batch_size"]
        ):
            if not options["dry_run"]:
                send_contents_purge(send_ids=[content.send_id for content in batch])
            count += len(batch)
            bar(count)
        bar.close()
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} the content of {count} send(s) older than {options['older_than']}.")

"""The embedded mail backend: every message becomes one .eml file in OUTBOX_DIR (var/outbox/)."""

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class OutboxBackend(BaseEmailBackend):
    """Writes `<send id or random>.eml`; the message id it records mimics what SES returns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            message_id = f"outbox-{uuid.uuid4().hex}"
            name = message.extra_headers.get("X-Kraiter-Send-Id") or message_id
            temporary = self.directory / f".{name}.eml.tmp"
            temporary.write_bytes(message.message().as_bytes(linesep="\r\n"))  # type: ignore[call-arg]
            temporary.replace(self.directory / f"{name}.eml")  # readers never see half a file
            message.extra_headers["message_id"] = message_id
        return len(email_messages)

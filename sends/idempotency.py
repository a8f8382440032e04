"""Idempotency-Key for POST /api/send (docs/api.md 5).

The key's row is inserted in the same transaction as the send it guards. A concurrent request
with the same key blocks on the unique index until the first commits, then reads the stored
response and replays it; if the first rolled back (a 400 or 404), the key is free again.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from kraiter.errors import Conflict, InvalidInput
from kraiter.models import Organisation
from sends.models import IdempotencyRecord

KEY_LIFETIME = timedelta(hours=24)
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def check_idempotency_key(value: str) -> str:
    if not _VALID_KEY.fullmatch(value):
        raise InvalidInput("The Idempotency-Key header must be 1 to 255 printable characters without spaces.")
    return value


def request_fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def run_idempotently(
    *, organisation: Organisation, key: str, fingerprint: str, action: Callable[[], StoredResponse]
) -> StoredResponse:
    """Runs `action` once per (organisation, key) within 24 hours and stores its response;
    later calls replay it. The same key with another body is a Conflict."""
    for _attempt in range(3):
        with transaction.atomic():
            now = timezone.now()
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        organisation=organisation,
                        key=key,
                        request_hash=fingerprint,
                        response_status=0,
                        response_body={},
                        created_at=now,
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(organisation=organisation, key=key).first()
                if existing is None:
                    continue  # it expired and was deleted under us: try again
                if existing.created_at < now - KEY_LIFETIME:
                    IdempotencyRecord.objects.filter(pk=existing.pk).delete()
                    continue
                if existing.request_hash != fingerprint:
                    raise Conflict("This Idempotency-Key was already used with a different request body.") from None
                return StoredResponse(existing.response_status, existing.response_body, replayed=True)
            response = action()
            record.response_status = response.status
            record.response_body = response.body
            record.save(update_fields=["response_status", "response_body"])
            return response
    raise Conflict("This Idempotency-Key is being used by another request right now; retry shortly.")


def idempotency_records_purge(*, now: Any = None) -> int:
    """Deletes keys older than 24 hours (hourly beat task)."""
    cutoff = (now or timezone.now()) - KEY_LIFETIME
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted

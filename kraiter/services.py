"""Writes to organisations and API keys."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from kraiter.emails import email_lookup_key, normalise_email
from kraiter.errors import InvalidInput, NotFound
from kraiter.models import MAX_SANDBOX_WHITELIST, ApiKey, Organisation, StaffMembership
from kraiter.rows import Columns, read_row

API_KEY_PATTERN = re.compile(r"kr_[A-Za-z0-9_-]{40}")
# lastUsedAt is refreshed at most this often, so a busy key does not write on every request.
LAST_USED_PRECISION = timedelta(seconds=60)


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    raw_key: str


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def organisation_create(
    *, name: str, staff_user: User | None = None, sending_status: str = Organisation.SendingStatus.SANDBOX
) -> Organisation:
    """A new tenant; it starts in sandbox mode (mail only to its whitelist) unless told otherwise."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("An organisation needs a name of 1 to 200 characters.")
    with transaction.atomic():
        organisation = Organisation.objects.create(name=name, sending_status=sending_status)
        if staff_user is not None:
            StaffMembership.objects.update_or_create(user=staff_user, defaults={"organisation": organisation})
    return organisation


def api_key_create(*, organisation: Organisation, name: str) -> CreatedApiKey:
    """Makes a key and returns it raw, the only time it is ever visible."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("A key needs a name of 1 to 100 characters.", details={"name": ["1 to 100 characters."]})
    raw_key = "kr_" + secrets.token_urlsafe(30)  # 30 random bytes: 40 URL-safe characters
    with transaction.atomic():
        # Lock the organisation so two concurrent creations cannot both pass the limit.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        active = ApiKey.objects.filter(organisation=organisation, revoked_at__isnull=True).count()
        if active >= settings.API_MAX_ACTIVE_KEYS:
            raise InvalidInput(
                f"An organisation may have at most {settings.API_MAX_ACTIVE_KEYS} active keys; revoke one first."
            )
        api_key = ApiKey.objects.create(
            organisation=organisation, name=name, key_prefix=raw_key[:10], key_hash=hash_api_key(raw_key)
        )
    return CreatedApiKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, organisation: Organisation, key_id: str) -> ApiKey:
    """Revokes a key of this organisation; revoking twice is harmless."""
    api_key = ApiKey.objects.filter(organisation=organisation, pk=key_id).first()
    if api_key is None:
        raise NotFound(f"No API key {key_id}.")
    if api_key.revoked_at is None:
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        api_key.refresh_from_db()
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key with this value, or None. Looked up by its hash, never by the raw value."""
    if not API_KEY_PATTERN.fullmatch(raw_key):
        return None
    api_key = _active_key_with_organisation(hash_api_key(raw_key))
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


_API_KEY = Columns(ApiKey, "k")
_ORGANISATION = Columns(Organisation, "o")


def _active_key_with_organisation(key_hash: str) -> ApiKey | None:
    """The unrevoked key with this hash, its organisation loaded: every API request asks, so on
    PostgreSQL it is hand-written SQL (kraiter.rows) rather than an ORM query."""
    if connection.vendor != "postgresql":
        return ApiKey.objects.select_related("organisation").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_API_KEY.sql()}, {_ORGANISATION.sql()} "  # noqa: S608
            f'FROM "{ApiKey._meta.db_table}" k JOIN "{Organisation._meta.db_table}" o ON o.id = k.organisation_id '
            "WHERE k.key_hash = %s AND k.revoked_at IS NULL LIMIT 1",
            [key_hash],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    api_key, organisation = read_row(row, connection, _API_KEY, _ORGANISATION)
    assert api_key is not None
    ApiKey.organisation.field.set_cached_value(api_key, organisation)
    return api_key


def sandbox_whitelist_add(*, organisation: Organisation, email: str) -> list[str]:
    """Adds an address (normalised, lower-cased) to the sandbox whitelist; at most 50."""
    key = email_lookup_key(normalise_email(email))
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if key not in locked.sandbox_whitelist:
            if len(locked.sandbox_whitelist) >= MAX_SANDBOX_WHITELIST:
                raise InvalidInput(
                    f"The sandbox whitelist holds at most {MAX_SANDBOX_WHITELIST} addresses; remove one first.",
                    details={"email": [f"At most {MAX_SANDBOX_WHITELIST} addresses."]},
                )
            locked.sandbox_whitelist = [*locked.sandbox_whitelist, key]
            locked.save(update_fields=["sandbox_whitelist", "updated_at"])
    organisation.sandbox_whitelist = locked.sandbox_whitelist
    return locked.sandbox_whitelist


def sandbox_whitelist_remove(*, organisation: Organisation, email: str) -> list[str]:
    """Removes an address from the sandbox whitelist; NotFound when it is not on it."""
    key = email_lookup_key(normalise_email(email))
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if key not in locked.sandbox_whitelist:
            raise NotFound(f"{email} is not on the sandbox whitelist.")
        locked.sandbox_whitelist = [address for address in locked.sandbox_whitelist if address != key]
        locked.save(update_fields=["sandbox_whitelist", "updated_at"])
    organisation.sandbox_whitelist = locked.sandbox_whitelist
    return locked.sandbox_whitelist

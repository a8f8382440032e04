"""Signed links that go out in emails: unsubscribe, open pixel, click redirect.

Tokens are Django signatures (HMAC with SECRET_KEY, a salt per kind): a token proves we made it,
and a tampered one is refused. They carry ids and URLs only, nothing secret.
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes


class _KeyOnce:
    """Django's signature, the same bytes, with the salted key derived once per salt and key
    (Django hashes salt and SECRET_KEY again for every signature: three per email sent)."""

    _keys: dict[tuple[str, str], bytes] = {}

    def signature(self, value: Any, key: Any = None) -> str:
        salt, key = self.salt + "signer", key or self.key  # type: ignore[attr-defined]
        derived = self._keys.get((salt, key))
        if derived is None:
            derived = self._keys[(salt, key)] = hashlib.sha256(force_bytes(salt) + force_bytes(key)).digest()
        return signing.b64_encode(hmac.digest(derived, force_bytes(value), "sha256")).decode()


class _Signer(_KeyOnce, signing.Signer):
    pass


class _TimestampSigner(_KeyOnce, signing.TimestampSigner):
    pass


_UNSUBSCRIBE = _Signer(salt="kraiter.unsubscribe")
_OPEN = _Signer(salt="kraiter.open")
_CLICK_SALT = "kraiter.click"
_CLICK = _TimestampSigner(salt=_CLICK_SALT)  # what signing.dumps(..., salt=_CLICK_SALT) builds each time
# zlib's deflate state costs more than signing; a short URL's token would hardly shrink
_COMPRESS_FROM = 120


def unsubscribe_url(send_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/unsubscribe/{_UNSUBSCRIBE.sign(send_id)}"


def read_unsubscribe_token(token: str) -> str | None:
    """The send id the token was made for, or None when it was not made by us."""
    try:
        return _UNSUBSCRIBE.unsign(token)
    except signing.BadSignature:
        return None


def open_pixel_url(send_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/t/o/{_OPEN.sign(send_id)}.gif"


def read_open_token(token: str) -> str | None:
    try:
        return _OPEN.unsign(token)
    except signing.BadSignature:
        return None


def click_url(send_id: str, destination: str) -> str:
    token = _CLICK.sign_object([send_id, destination], compress=len(destination) >= _COMPRESS_FROM)
    return f"{settings.PUBLIC_BASE_URL}/t/c/{token}"


def read_click_token(token: str) -> tuple[str, str] | None:
    """(send id, destination URL) bound in the token, or None when it was tampered with."""
    try:
        send_id, destination = signing.loads(token, salt=_CLICK_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(send_id, str) or not isinstance(destination, str):
        return None
    return send_id, destination

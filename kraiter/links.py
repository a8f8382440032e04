"""Signed links that go out in emails: unsubscribe, open pixel, click redirect.

Tokens are Django signatures (HMAC with SECRET_KEY, a salt per kind): a token proves we made it,
and a tampered one is refused. They carry ids and URLs only, nothing secret.
"""

from django.conf import settings
from django.core import signing

_UNSUBSCRIBE = signing.Signer(salt="kraiter.unsubscribe")
_OPEN = signing.Signer(salt="kraiter.open")
_CLICK_SALT = "kraiter.click"


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
    token = signing.dumps([send_id, destination], salt=_CLICK_SALT, compress=True)
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

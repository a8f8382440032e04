"""What counts as an email address here, and its stored form."""

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from kraiter.errors import InvalidInput

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64  # RFC 5321 4.5.3.1.1; SES refuses longer ones
_validator = EmailValidator()


def normalise_email(value: str) -> str:
    """One address, trimmed, with its domain lower-cased; InvalidInput for anything else.

    Refused: empty values, CR/LF or other control characters (header injection), display names
    and lists (`Bob <b@x>`, `a@x, b@y`), quoted local parts, local parts over 64 characters, and
    what Django's validator refuses.
    """
    text = value.strip()
    if not text:
        raise InvalidInput("An email address is required.")
    if len(text) > MAX_EMAIL_LENGTH:
        raise InvalidInput(f"An email address is at most {MAX_EMAIL_LENGTH} characters.")
    if any(ord(ch) < 32 or ch in ',;<>"' or ch.isspace() for ch in text):
        raise InvalidInput(f"'{_printable(text)}' is not a single email address.")
    try:
        _validator(text)
    except ValidationError:
        raise InvalidInput(f"'{_printable(text)}' is not a valid email address.") from None
    local, _, domain = text.rpartition("@")
    if len(local) > MAX_LOCAL_PART_LENGTH:
        raise InvalidInput(f"The part of an email address before the @ is at most {MAX_LOCAL_PART_LENGTH} characters.")
    return f"{local}@{domain.lower()}"


def email_lookup_key(email: str) -> str:
    """The value emails are compared by (the unique index is on LOWER(email))."""
    return email.lower()


def _printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")[:100]

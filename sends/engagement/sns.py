"""Is this SNS message really from our SNS topic? (what django-ses's verifier leaves out)

- SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA); anything else is refused.
- The signing certificate must come over https from an SNS host (sns.<region>.amazonaws.com);
  it is fetched once and cached in the process.
- Only topics listed in AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS are accepted; an empty list accepts none.
- Messages more than an hour old (or from more than an hour in the future) are refused: a
  captured message cannot be replayed later.
- A message must be complete before it is verified: every field AWS signs for its Type is there,
  as text, and only the Message spans lines. The signed text is `name\nvalue\n` pairs run
  together, so otherwise one real notification could be re-split (its MessageId dropped and
  appended to its Message) and verify again, stored under a new de-duplication key.
"""

import base64
import binascii
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

logger = logging.getLogger("kraiter.sns")

CERT_URL = re.compile(r"https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/SimpleNotificationService-[A-Za-z0-9]+\.pem")
MAX_AGE = timedelta(hours=1)
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_OPTIONAL_FIELDS = frozenset({"Subject"})
_certificates: dict[str, x509.Certificate] = {}
_certificates_lock = threading.Lock()


class UntrustedMessage(Exception):
    """Why a message was refused (logged, never sent back)."""


def topic_is_trusted(notification: dict[str, Any]) -> bool:
    """Whether the notification names one of AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS (an empty list trusts none)."""
    return notification.get("TopicArn") in settings.AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS


def verify_sns_message(notification: dict[str, Any], *, now: datetime | None = None) -> None:
    """Returns if the message is authentic, fresh and from a trusted topic; UntrustedMessage otherwise."""
    topic = notification.get("TopicArn")
    if not topic_is_trusted(notification):
        raise UntrustedMessage(f"topic {topic!r} is not in AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS")
    _check_fresh(notification.get("Timestamp"), now or datetime.now(UTC))
    algorithm = _HASHES.get(str(notification.get("SignatureVersion")))
    if algorithm is None:
        raise UntrustedMessage(f"unsupported SignatureVersion {notification.get('SignatureVersion')!r}")
    fields = _SIGNED_FIELDS.get(str(notification.get("Type")))
    if fields is None:
        raise UntrustedMessage(f"unknown message Type {notification.get('Type')!r}")
    _check_complete(notification, fields)
    try:
        signature = base64.b64decode(notification.get("Signature") or "", validate=True)
    except (binascii.Error, ValueError):
        raise UntrustedMessage("the Signature is not base64") from None
    signed = "".join(f"{name}\n{notification[name]}\n" for name in fields if notification.get(name) is not None)
    public_key = signing_certificate(str(notification.get("SigningCertURL") or "")).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UntrustedMessage("the signing certificate does not hold an RSA key")
    try:
        public_key.verify(signature, signed.encode(), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise UntrustedMessage("the signature does not match the message") from None


def _check_complete(notification: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in (*fields, "Signature", "SigningCertURL"):
        value = notification.get(name)
        if value is None and name in _OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str) or not (value or name in _OPTIONAL_FIELDS):
            raise UntrustedMessage(f"the {name} field is missing or is not text")
        if name != "Message" and "\n" in value:
            raise UntrustedMessage(f"the {name} field spans lines")


def signing_certificate(url: str) -> x509.Certificate:
    """The SNS signing certificate at `url` (an SNS host over https only), cached per process."""
    if not CERT_URL.fullmatch(url):
        raise UntrustedMessage(f"SigningCertURL {url!r} is not an SNS certificate URL")
    with _certificates_lock:
        cached = _certificates.get(url)
    if cached is not None:
        return cached
    try:
        response = requests.get(url, timeout=10)
        response.raise_for_status()
        certificate = x509.load_pem_x509_certificate(response.content)
    except (requests.RequestException, ValueError) as exc:
        raise UntrustedMessage(f"could not load the signing certificate: {exc}") from None
    with _certificates_lock:
        _certificates[url] = certificate
    return certificate


def _check_fresh(timestamp: Any, now: datetime) -> None:
    try:
        sent = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        raise UntrustedMessage(f"bad Timestamp {timestamp!r}") from None
    if sent.tzinfo is None or abs(now - sent) > MAX_AGE:
        raise UntrustedMessage(f"Timestamp {timestamp} is more than an hour from now")

"""A test SNS: a certificate and key made here, notifications signed with them (v1 or v2), and
the certificate served to the verifier locally (the `responses` library), never from the network."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:us-east-1:123456789012:kraiter-ses-events"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-6aad65c2f9911b05cd53efda11f913f9.pem"
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


class FakeSns:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def notification(self, message: dict[str, Any] | str, *, version: str = "1", **overrides: Any) -> dict[str, Any]:
        body = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": CERT_URL,
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
        body.update(overrides)
        return self.sign(body, version=version)

    def subscription(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": "2336412f37fb687f5d51e6e2425",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SignatureVersion": "1",
            "SigningCertURL": CERT_URL,
        }
        body.update(overrides)
        return self.sign(body, version="1")

    def sign(self, body: dict[str, Any], *, version: str) -> dict[str, Any]:
        fields = _FIELDS[body["Type"]]
        text = "".join(f"{name}\n{body[name]}\n" for name in fields if body.get(name) is not None)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS SignatureVersion 1 is SHA1)
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {**body, "Signature": base64.b64encode(signature).decode()}

"""SES in the tests is moto's: django-ses talks to it through boto3 as it would to AWS."""

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.exceptions import MessageRejectedError, SesError
from moto.ses.models import SESBackend, ses_backends

SENDER = "no-reply@example.com"


class ThrottlingError(SesError):
    code = "Throttling"


@dataclass
class FakeSes:
    """Moto's SES, with switches for the failures real SES produces."""

    backend: Any
    calls: int = 0
    fail_next: list[Exception | None] = field(default_factory=list)
    reject_addresses: set[str] = field(default_factory=set)
    # SES accepts the message (it is in messages()), then its answer never reaches us.
    lose_answers: int = 0

    def messages(self) -> list[Message]:
        return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in self.backend.sent_messages]

    def throttle_next(self, times: int = 1) -> None:
        self.fail_next += [ThrottlingError("Maximum sending rate exceeded.") for _ in range(times)]


@pytest.fixture
def ses(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSes]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    settings.EMAIL_BACKEND = "django_ses.SESBackend"
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_SES_REGION_NAME = "us-east-1"
    settings.DEFAULT_FROM_EMAIL = f"Acme <{SENDER}>"
    with mock_aws():
        boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=SENDER)
        backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        fake = FakeSes(backend=backend)
        original = SESBackend.send_raw_email

        def send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str) -> Any:
            fake.calls += 1
            failure = fake.fail_next.pop(0) if fake.fail_next else None  # None: this call goes through
            if failure is not None:
                raise failure
            recipients = {d.lower() for d in destinations} | {
                addr.lower()
                for _, addr in email.utils.getaddresses(email.message_from_string(raw_data).get_all("To", []))
            }
            if recipients & fake.reject_addresses:
                raise MessageRejectedError("Email address is on the account-level suppression list.")
            accepted = original(self, source, destinations, raw_data)
            if fake.lose_answers:
                fake.lose_answers -= 1
                raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com/")
            return accepted

        monkeypatch.setattr(SESBackend, "send_raw_email", send_raw_email)
        yield fake


@pytest.fixture
def sns(settings: Any) -> Iterator[Any]:
    """A trusted SNS topic whose signing certificate is served locally."""
    import responses

    import sends.engagement.sns
    from tests.sends.sns import CERT_URL, TOPIC, FakeSns

    settings.AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS = [TOPIC]
    fake = FakeSns()
    sends.engagement.sns._certificates.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        http.get(CERT_URL, body=fake.pem)
        fake.http = http
        yield fake
    sends.engagement.sns._certificates.clear()


@pytest.fixture
def sent(organisation: Any) -> Any:
    """A send SES accepted, to rita@example.com: what the webhook's notifications are about
    (tests/sends/test_webhook.py and test_webhook_transactions.py)."""
    from tests.factories import ContactFactory, SendFactory

    contact = ContactFactory(organisation=organisation, email="rita@example.com")
    return SendFactory(
        organisation=organisation, contact=contact, status="sent", ses_message_id="0100018f-ses-1",
        sent_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
    )  # fmt: skip

"""SES v2 in the domain tests is moto's, completed where moto stops short of SES:

- moto's CreateEmailIdentity returns no Easy DKIM tokens and calls a domain verified at once;
  real SES answers PENDING with three tokens and verifies once it finds the CNAMEs. The fixture
  makes moto's identities behave like SES's (`SesIdentities.verify` / `.fail` play SES finding,
  or giving up on, the records) and adds SES's VerificationInfo to GetEmailIdentity.
- moto does not implement PutEmailIdentityMailFromAttributes at all: that operation goes to a
  client stubbed with botocore's Stubber, which checks each call against the SES v2 model.

Sending goes through the `ses` fixture of tests/sends (moto's SES v1, django-ses): it refuses
mail from a domain that is not an identity of the account, as SES does.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import EmailIdentity, SESBackend, ses_backends

from domains import identity
from tests.sends.conftest import ses  # noqa: F401 - the fixture, shared

STUBBED = {"put_email_identity_mail_from_attributes"}


class MotoWithStubs:
    """A boto3 SES v2 client: moto's for what moto implements, a Stubber's for the rest."""

    def __init__(self, moto_client: Any, stubbed_client: Any, stubber: Stubber, calls: list) -> None:
        self._moto, self._stubbed, self._stubber, self._calls = moto_client, stubbed_client, stubber, calls

    def __getattr__(self, name: str) -> Any:
        if name not in STUBBED:
            return getattr(self._moto, name)

        def call(**params: Any) -> Any:
            self._stubber.add_response(name, {}, expected_params=params)  # the Stubber validates params
            self._calls.append((name, params))
            return getattr(self._stubbed, name)(**params)

        return call


@dataclass
class SesIdentities:
    backend: Any
    stubbed_calls: list = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # domain -> VerificationInfo.ErrorType

    def identity(self, domain: str) -> Any:
        return self.backend.email_identities[domain]

    def verify(self, domain: str) -> None:
        """SES found the DKIM records."""
        found = self.identity(domain)
        found.verification_status, found.verified_for_sending_status = "SUCCESS", True
        found.dkim_attributes["Status"] = "SUCCESS"
        self.errors.pop(domain, None)

    def fail(self, domain: str, error_type: str = "HOST_NOT_FOUND", status: str = "FAILED") -> None:
        """SES gave up on the records (or could not find them this time: TEMPORARY_FAILURE)."""
        found = self.identity(domain)
        found.verification_status, found.verified_for_sending_status = status, False
        found.dkim_attributes["Status"] = status
        self.errors[domain] = error_type


def _easy_dkim(domain: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"ses:{domain}".encode()).hexdigest()
    return {
        "SigningEnabled": True,
        "Status": "PENDING",
        "Tokens": [digest[i * 32 : (i + 1) * 32] for i in range(3)],
        "SigningAttributesOrigin": "AWS_SES",
        "NextSigningKeyLength": "RSA_2048_BIT",
    }


@pytest.fixture
def ses_identities(ses: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SesIdentities]:  # noqa: F811
    settings.DOMAIN_IDENTITY_SERVICE = "ses"
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    fake = SesIdentities(backend)
    original_create = SESBackend.create_email_identity_v2
    original_response = EmailIdentity.get_response_object

    def create(self: Any, email_identity: str, *args: Any) -> Any:
        created = original_create(self, email_identity, *args)
        if created.identity_type == "DOMAIN":
            created.verification_status = "PENDING"
            created.dkim_attributes = _easy_dkim(email_identity)
        return created

    def response(self: Any) -> dict[str, Any]:
        answer = dict(original_response.fget(self))  # type: ignore[attr-defined]
        error = fake.errors.get(self.email_identity)
        answer["VerificationInfo"] = {"ErrorType": error} if error else {}
        return answer

    monkeypatch.setattr(SESBackend, "create_email_identity_v2", create)
    monkeypatch.setattr(EmailIdentity, "get_response_object", property(response))
    stubbed = boto3.client("sesv2", region_name="us-east-1")
    with Stubber(stubbed) as stubber:
        client = MotoWithStubs(boto3.client("sesv2", region_name="us-east-1"), stubbed, stubber, fake.stubbed_calls)
        monkeypatch.setattr(identity, "_ses_service", lambda: identity.SesIdentityService(client))
        yield fake


@pytest.fixture
def local_identities(settings: Any) -> None:
    settings.DOMAIN_IDENTITY_SERVICE = "local"

"""The identity service that proves a domain is its owner's: Amazon SES v2 in production, a
local stand-in in the embedded mode of `make run`. DOMAIN_IDENTITY_SERVICE chooses (`ses` or
`local`); the start-up banner of `runall` shows which.

Both issue the same records: three Easy DKIM CNAMEs (the tokens are SES's, or made up locally),
the custom MAIL FROM subdomain's MX and SPF TXT, and a DMARC TXT suggestion.
"""

import contextlib
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from kraiter.errors import Conflict


@dataclass(frozen=True)
class IdentityState:
    """What the identity service says about a domain."""

    status: str  # a Domain.Status value
    sending_enabled: bool = False
    dkim_tokens: list[str] = field(default_factory=list)
    reason: str | None = None  # why it is not verified (yet), in the service's words


class IdentityService(Protocol):
    def create(self, domain: str) -> IdentityState: ...

    def check(self, domain: str, *, asked: bool) -> IdentityState:
        """`asked`: a person pressed verify (POST /api/domains/:id/verify), not the beat task."""
        ...

    def delete(self, domain: str) -> None: ...


def dns_records(domain: str, dkim_tokens: list[str]) -> list[dict[str, str]]:
    """The records an organisation publishes for `domain`, each with its purpose."""
    mail_from = f"{settings.DOMAIN_MAIL_FROM_SUBDOMAIN}.{domain}"
    return [
        *(
            {
                "type": "CNAME",
                "name": f"{token}._domainkey.{domain}",
                "value": f"{token}.dkim.amazonses.com",
                "purpose": "dkim",
            }
            for token in dkim_tokens
        ),
        {
            "type": "MX",
            "name": mail_from,
            "value": f"10 feedback-smtp.{settings.AWS_SES_REGION_NAME}.amazonses.com",
            "purpose": "mail_from",
        },
        {"type": "TXT", "name": mail_from, "value": '"v=spf1 include:amazonses.com ~all"', "purpose": "spf"},
        {"type": "TXT", "name": f"_dmarc.{domain}", "value": '"v=DMARC1; p=none;"', "purpose": "dmarc"},
    ]


# SES v2's VerificationInfo.ErrorType, in words a customer can act on.
SES_ERRORS = {
    "SERVICE_ERROR": "SES could not check the records (a temporary problem at SES).",
    "DNS_SERVER_ERROR": "The domain's DNS server did not answer SES.",
    "HOST_NOT_FOUND": "SES found no DKIM records: the CNAMEs are not published (or not yet visible).",
    "TYPE_NOT_FOUND": "SES found the DKIM names but not as CNAME records.",
    "INVALID_VALUE": "The DKIM records SES found have the wrong values.",
}


class SesIdentityService:
    """SES v2 through boto3: an Easy DKIM domain identity with a custom MAIL FROM domain."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create(self, domain: str) -> IdentityState:
        try:
            answer = self.client.create_email_identity(EmailIdentity=domain)
        except self.client.exceptions.AlreadyExistsException:
            raise Conflict(f"The domain {domain} is already an identity of this SES account.") from None
        self.client.put_email_identity_mail_from_attributes(
            EmailIdentity=domain,
            MailFromDomain=f"{settings.DOMAIN_MAIL_FROM_SUBDOMAIN}.{domain}",
            BehaviorOnMxFailure="USE_DEFAULT_VALUE",
        )
        return _ses_state(answer)

    def check(self, domain: str, *, asked: bool) -> IdentityState:
        try:
            return _ses_state(self.client.get_email_identity(EmailIdentity=domain))
        except self.client.exceptions.NotFoundException:
            return IdentityState("failed", reason="The identity no longer exists in SES (deleted outside Kraiter).")

    def delete(self, domain: str) -> None:
        with contextlib.suppress(self.client.exceptions.NotFoundException):  # already gone: what deleting wanted
            self.client.delete_email_identity(EmailIdentity=domain)


def _ses_state(answer: dict[str, Any]) -> IdentityState:
    dkim = answer.get("DkimAttributes") or {}
    tokens = list(dkim.get("Tokens") or [])
    status = answer.get("VerificationStatus") or dkim.get("Status") or "PENDING"
    error = (answer.get("VerificationInfo") or {}).get("ErrorType")
    reason = SES_ERRORS.get(error, f"SES reports {error}.") if error else None
    if status == "SUCCESS":
        return IdentityState("verified", bool(answer.get("VerifiedForSendingStatus")), tokens)
    if status == "FAILED":
        return IdentityState("failed", False, tokens, reason or "SES reports the verification failed.")
    if status == "TEMPORARY_FAILURE":
        reason = reason or "SES could not find the records this time; it keeps trying."
    return IdentityState("pending", False, tokens, reason)


class LocalIdentityService:
    """The embedded mode's stand-in: records of the same kinds (made-up DKIM tokens), verified
    when someone asks (POST /api/domains/:id/verify), or by the beat task when
    LOCAL_DOMAINS_AUTO_VERIFY is on. Nothing leaves the machine."""

    def create(self, domain: str) -> IdentityState:
        digest = hashlib.sha256(domain.encode()).hexdigest()
        return IdentityState("pending", dkim_tokens=[digest[i * 20 : (i + 1) * 20] for i in range(3)])

    def check(self, domain: str, *, asked: bool) -> IdentityState:
        if asked or settings.LOCAL_DOMAINS_AUTO_VERIFY:
            return IdentityState("verified", sending_enabled=True)
        return IdentityState("pending", reason="The local identity service verifies when asked (POST .../verify).")

    def delete(self, domain: str) -> None:
        pass


def ses_client() -> Any:
    import boto3

    return boto3.client(
        "sesv2",
        region_name=settings.AWS_SES_REGION_NAME,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        config=settings.AWS_SES_CONFIG,
    )


@functools.cache
def _ses_service() -> SesIdentityService:
    return SesIdentityService(ses_client())


def identity_service() -> IdentityService:
    """The service DOMAIN_IDENTITY_SERVICE names."""
    if settings.DOMAIN_IDENTITY_SERVICE == "local":
        return LocalIdentityService()
    return _ses_service()

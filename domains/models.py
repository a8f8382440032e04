"""Sending domains: an organisation proves it owns a domain (DKIM records in its DNS) before
it may send from it."""

from django.db import models

from kraiter.api.ids import prefixed_id_primary_key
from kraiter.models import Organisation


class Domain(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # records issued, the identity service has not seen them yet
        VERIFIED = "verified"
        FAILED = "failed"  # the identity service gave up (SES: 72 hours), or a verified domain broke

    id = prefixed_id_primary_key("dom")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="domains", db_index=False)
    # Lower-case ASCII (IDNA). Unique across organisations: one domain, one owner (and one SES identity).
    name = models.CharField(max_length=253, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # True while the identity service lets mail leave from this domain; a send from it needs it.
    sending_enabled = models.BooleanField(default=False)
    # The DNS records to publish, [{type, name, value, purpose}], as issued when the domain was added.
    dns_records = models.JSONField(default=list, blank=True)
    # Why the identity service says the domain is not (or no longer) verified; null when it is.
    failure_reason = models.TextField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # When the beat task asks the identity service again (backoff for pending ones); null: never.
    next_check_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # GET /api/domains, newest first; also the sender check (organisation + name).
            models.Index(fields=["organisation", "-id"], name="domain_org_id_idx"),
            # The beat task: domains due for a check. Partial: failed domains are never checked.
            models.Index(
                fields=["next_check_at"], name="domain_due_check_idx", condition=models.Q(next_check_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SenderSettings(models.Model):
    """An organisation's default sender: From name and address (on one of its verified domains)
    and Reply-To. Templates and sends may override each (domains.sender)."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="sender_settings"
    )
    from_name = models.CharField(max_length=200, blank=True, default="")
    from_email = models.CharField(max_length=254, blank=True, default="")
    reply_to = models.CharField(max_length=254, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sender settings"
        verbose_name_plural = "sender settings"

    def __str__(self) -> str:
        return f"sender of {self.organisation_id}"

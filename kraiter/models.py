"""The tenant (Organisation), its API keys, and which staff users act for it."""

from django.conf import settings
from django.db import models

from kraiter.api.ids import prefixed_id_primary_key

MAX_SANDBOX_WHITELIST = 50


class Organisation(models.Model):
    class SendingStatus(models.TextChoices):
        ENABLED = "enabled"
        PAUSED = "paused"  # set by staff: nothing more is sent (POST /api/send is a 422)
        SANDBOX = "sandbox"  # new organisations: mail only to the sandbox whitelist

    id = prefixed_id_primary_key("org")
    name = models.CharField(max_length=200)
    sending_status = models.CharField(max_length=16, choices=SendingStatus.choices, default=SendingStatus.SANDBOX)
    plan = models.CharField(max_length=40, default="free", help_text="Shown to the API as `plan`; set by staff.")
    # The addresses (lower-cased) a sandboxed organisation may mail, at most MAX_SANDBOX_WHITELIST.
    sandbox_whitelist = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def sending_refusal(self, email: str) -> str | None:
        """Why this organisation may not mail `email` now; None when it may. Checked when a send is
        made, by the dispatcher, and again right before delivery."""
        if self.sending_status == self.SendingStatus.PAUSED:
            return "Sending is paused for this organisation."
        if self.sending_status == self.SendingStatus.SANDBOX and email.lower() not in self.sandbox_whitelist:
            return (
                f"This organisation is in sandbox mode: it may send only to its sandbox whitelist, "
                f"and {email} is not on it."
            )
        return None


class ApiKey(models.Model):
    """An API key. Only its SHA-256 and a short visible prefix are stored; the raw key is shown once."""

    id = prefixed_id_primary_key("key")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=12, help_text="The first characters of the key, to recognise it.")
    # Every authenticated request looks its key up by this hash (unique, so indexed).
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [
            # GET /api/keys lists an organisation's keys, newest first.
            models.Index(fields=["organisation", "-id"], name="apikey_org_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class StaffMembership(models.Model):
    """Which organisation a staff user acts for when using the API with their admin session."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="staff")

    def __str__(self) -> str:
        return f"{self.user} → {self.organisation}"

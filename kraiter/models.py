"""The tenant (Organisation), its API keys, and which staff users act for it."""

from django.conf import settings
from django.db import models

from kraiter.api.ids import prefixed_id_primary_key


class Organisation(models.Model):
    class SendingStatus(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"  # set by staff: new sends are refused with 422

    id = prefixed_id_primary_key("org")
    name = models.CharField(max_length=200)
    sending_status = models.CharField(max_length=16, choices=SendingStatus.choices, default=SendingStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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

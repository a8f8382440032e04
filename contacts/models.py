"""Contacts (a person an organisation mails) and the events they trigger."""

from django.db import models
from django.db.models.functions import Lower

from kraiter.api.ids import prefixed_id_primary_key
from kraiter.models import Organisation


class Contact(models.Model):
    class SuppressionReason(models.TextChoices):
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        MANUAL = "manual"

    id = prefixed_id_primary_key("cnt")
    # Not indexed alone: the indexes below start with the organisation.
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    # As given, trimmed, domain lower-cased; unique per organisation ignoring case (see constraints).
    email = models.CharField(max_length=254)
    properties = models.JSONField(default=dict, blank=True)
    unsubscribed = models.BooleanField(default=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed = models.BooleanField(default=False)
    suppression_reason = models.CharField(max_length=16, choices=SuppressionReason.choices, null=True, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Enforced by the database, so two concurrent creations cannot both win. Also the index
            # behind every lookup by email (contact_find_by_email, POST /api/send).
            models.UniqueConstraint("organisation", Lower("email"), name="contact_org_email_ci_uniq"),
        ]
        indexes = [
            # The admin's search for a person by address, across organisations.
            models.Index(Lower("email"), name="contact_email_idx"),
            # GET /api/contacts, newest first.
            models.Index(fields=["organisation", "-id"], name="contact_org_id_idx"),
            # GET /api/contacts?suppressed=true and ?unsubscribed=true (few rows: partial indexes).
            models.Index(
                fields=["organisation", "-id"], name="contact_suppressed_idx", condition=models.Q(suppressed=True)
            ),
            models.Index(
                fields=["organisation", "-id"], name="contact_unsubscribed_idx", condition=models.Q(unsubscribed=True)
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def can_receive(self) -> bool:
        return not (self.suppressed or self.unsubscribed)


class Event(models.Model):
    """Something a contact did, reported with POST /api/events; it may enrol them in sequences."""

    id = prefixed_id_primary_key("evt")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="events")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=100)
    properties = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Sequence conditions `event.<name> exists`, and a contact's events in the admin.
            models.Index(fields=["contact", "name"], name="event_contact_name_idx"),
            models.Index(fields=["organisation", "-id"], name="event_org_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.contact_id})"


class OptedOutAddress(models.Model):
    """An address that unsubscribed while the organisation had no contact for it (through the
    link of an email whose contact was deleted since). A contact created for it later starts
    unsubscribed, and the row is consumed."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    email_key = models.CharField(max_length=254, help_text="The address, lower-cased.")
    unsubscribed_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index every contact creation looks its address up in.
            models.UniqueConstraint(fields=["organisation", "email_key"], name="optout_org_email_uniq"),
        ]

    def __str__(self) -> str:
        return self.email_key

"""Contacts (a person an organisation mails) and the events they trigger."""

from django.db import models
from django.db.models.functions import Lower

from kraiter.api.ids import PrefixedIdField, prefixed_id_primary_key
from kraiter.models import Organisation

UNSUBSCRIBED_REASON = "Contact has unsubscribed."


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

    @property
    def opt_out_reason(self) -> str | None:
        """Why the contact may not be mailed (a send's rejection reason); None when it may."""
        if self.suppressed:
            return f"Contact is suppressed ({self.suppression_reason or Contact.SuppressionReason.MANUAL})."
        if self.unsubscribed:
            return UNSUBSCRIBED_REASON
        return None


# Every reason opt_out_reason can give: POST /api/send suggests ignoreUnsubscribe for these only.
OPT_OUT_REASONS = (UNSUBSCRIBED_REASON, *(f"Contact is suppressed ({r})." for r in Contact.SuppressionReason.values))

SYSTEM_EVENT_PREFIX = "email."
CONTACT_UPDATED = "contact.updated"  # a contact's properties changed (properties: {changed: [names]})
RESERVED_EVENT_PREFIXES = (SYSTEM_EVENT_PREFIX, "contact.")


class Event(models.Model):
    """Something a contact did: a custom event (POST /api/events), or a system event the
    engagement pipeline records (`email.sent` ... `email.unsubscribed`, with the send's id).
    Every event is read once by the reactions of higher layers (sequence triggers and exits:
    scheduling.reactions), which set `reacted_at`."""

    id = prefixed_id_primary_key("evt")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="events", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events", db_index=False)
    name = models.CharField(max_length=100)
    properties = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()
    # The send a system event is about (null for custom events).
    send_id = PrefixedIdField(prefix="snd", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reacted_at = models.DateTimeField(null=True, blank=True)
    # What the reactions decided not to do, e.g. a trigger whose conditions did not hold.
    reaction_notes = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            # GET /api/events, newest first, and its ?name= filter. The name leads: the list reads
            # the organisation as a range (kraiter.api.pagination.of_organisation), and a range on
            # an index's first column leaves the later ones unbounded, so (organisation, name, ...)
            # read the rest of the organisation's events when fewer than a page matched (a name
            # with no events: 5 s at 50 M events; BENCHMARKS.md, issue 13).
            models.Index(fields=["organisation", "-timestamp", "-id"], name="event_org_time_idx"),
            models.Index(fields=["name", "organisation", "-timestamp", "-id"], name="event_name_org_idx"),
            # ?contactId=, the contact's timeline, and sequence conditions `event.<name>` (a contact
            # has few events of a name: the name is checked on the rows the contact has).
            models.Index(fields=["contact", "-timestamp", "-id"], name="event_contact_time_idx"),
            models.Index(fields=["contact", "name", "-timestamp"], name="event_contact_name_idx"),
            # Conditions on a send's engagement ("email.opened for the previous step's send").
            models.Index(fields=["send_id", "name"], name="event_send_idx", condition=models.Q(send_id__isnull=False)),
            # The reactions' queue: events not read yet (few rows: partial).
            models.Index(fields=["id"], name="event_unreacted_idx", condition=models.Q(reacted_at__isnull=True)),
            # Retention (purge_events --older-than).
            models.Index(fields=["timestamp"], name="event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.contact_id})"

    @property
    def is_system(self) -> bool:
        return self.name.startswith(RESERVED_EVENT_PREFIXES)


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

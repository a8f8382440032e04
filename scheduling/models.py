"""Sequences (drip campaigns), their enrolled contacts, and the emails scheduled for them."""

from django.db import models

from contacts.models import Contact
from kraiter.api.ids import prefixed_id_primary_key
from kraiter.models import Organisation
from templates_app.models import Template


class Sequence(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sequences")
    slug = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # As the client wrote it: YAML text, or (definition_json) the object it sent.
    definition = models.TextField(help_text="YAML, or the JSON object as text.")
    definition_json = models.JSONField(null=True, blank=True)
    triggers = models.JSONField(
        default=list, blank=True, help_text="[{event, conditions?}]: the events that enrol a contact."
    )
    # The current version; every definition change makes a new one (SequenceVersion).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Also the index behind every lookup by id.
            models.UniqueConstraint(fields=["organisation", "slug"], name="sequence_org_slug_uniq"),
        ]
        indexes = [
            # GET /api/sequences, newest first, and ?status=.
            models.Index(fields=["organisation", "-created_at", "-slug"], name="sequence_org_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class SequenceVersion(models.Model):
    """An immutable parsed definition. Enrolments run the version they were enrolled in, so
    editing a sequence changes what new enrolments get, never what running ones get."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    steps = models.JSONField()  # scheduling.definition.Step, jumps resolved to step indexes
    # Conditions (scheduling.conditions) that end an enrolment whenever one matches.
    exit_conditions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sequence", "number"], name="sequence_version_uniq")]

    def __str__(self) -> str:
        return f"{self.sequence_id} v{self.number}"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed"  # ran to the last step
        EXITED = "exited"  # a condition ended it
        CANCELLED = "cancelled"  # the contact opted out or the sequence was deleted

    id = prefixed_id_primary_key("enr")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # Kept when the sequence is deleted (the enrolment ends as cancelled).
    sequence = models.ForeignKey(Sequence, on_delete=models.SET_NULL, null=True, related_name="enrolments")
    sequence_slug = models.CharField(max_length=64)
    version = models.ForeignKey(SequenceVersion, on_delete=models.SET_NULL, null=True, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # 1-based position in the steps of the step the enrolment waits at (or ended at).
    current_step = models.PositiveSmallIntegerField(default=1)
    ended_reason = models.CharField(max_length=200, blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    # What was done to it outside its steps (e.g. healed when it was found with nothing scheduled).
    notes = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One active enrolment per contact and sequence, enforced by the database.
            models.UniqueConstraint(
                fields=["sequence", "contact"],
                name="enrolment_one_active_uniq",
                condition=models.Q(status="active"),
            ),
        ]
        indexes = [
            # A contact's enrolments (opt-out cancels them; the admin lists them), and its timeline.
            models.Index(fields=["contact", "status"], name="enrolment_contact_idx"),
            models.Index(fields=["contact", "-created_at", "-id"], name="enrolment_contact_time_idx"),
            models.Index(
                fields=["contact", "-ended_at", "-id"],
                name="enrolment_contact_ended_idx",
                condition=models.Q(ended_at__isnull=False),
            ),
            # A sequence's enrolments through the API, newest first, all or of one status.
            models.Index(fields=["sequence", "-id"], name="enrolment_sequence_idx"),
            models.Index(fields=["sequence", "status", "-id"], name="enrolment_sequence_status_idx"),
            # The healer's search for active enrolments with nothing scheduled (few rows: partial).
            models.Index(fields=["updated_at"], name="enrolment_active_idx", condition=models.Q(status="active")),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.sequence_slug} ({self.status})"


class ScheduledSend(models.Model):
    """The next email of an enrolment, due at `scheduled_for`. At most one per enrolment."""

    id = prefixed_id_primary_key("sch")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="scheduled_send")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="scheduled_sends")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="scheduled_sends", db_index=False)
    template = models.ForeignKey(Template, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False)
    template_slug = models.CharField(max_length=64)
    # The email step (1-based among the sequence's email steps) and where its steps start:
    # conditions between resume_index and email_index are evaluated when the email is due.
    step = models.PositiveSmallIntegerField()
    resume_index = models.PositiveSmallIntegerField()
    email_index = models.PositiveSmallIntegerField()
    scheduled_for = models.DateTimeField()
    # True while the sequence is paused: the dispatcher's index skips held rows.
    held = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The dispatcher: due rows in scheduledFor order, paused sequences' rows left out.
            models.Index(fields=["scheduled_for", "id"], name="scheduled_due_idx", condition=models.Q(held=False)),
            # GET /api/scheduled, earliest first.
            models.Index(fields=["organisation", "scheduled_for", "id"], name="scheduled_org_due_idx"),
            # GET /api/contacts/:id/scheduled, and cancelling a contact's sends.
            models.Index(fields=["contact", "scheduled_for", "id"], name="scheduled_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template_slug} → {self.contact_id} at {self.scheduled_for:%Y-%m-%d %H:%M}"

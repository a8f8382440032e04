"""The send log: one row per email (narrow, heavily indexed), its rendered content beside it."""

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact
from kraiter.api.ids import PrefixedIdField, prefixed_id_primary_key
from kraiter.models import Organisation


class EngagementKind(models.TextChoices):
    """What can happen to a send after it is created: the one vocabulary of the engagement
    pipeline (sends.engagement), the SES parser, tracking, unsubscribe, the rollups, the metrics
    API and the system events (`email.<kind>`)."""

    SENT = "sent"  # handed to SES (delivery's outcome, or SES's Send event)
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"  # through the email's own link
    REJECTED = "rejected"  # SES's Reject or Rendering Failure
    DELAYED = "delayed"  # SES's DeliveryDelay

    @property
    def event_name(self) -> str:
        """The contact's system event for this kind (`email.opened`)."""
        return f"email.{self.value}"


# The kinds the rollups count and /api/metrics returns, in this order; each has a system event.
COUNTED_KINDS: tuple[EngagementKind, ...] = (
    EngagementKind.SENT,
    EngagementKind.DELIVERED,
    EngagementKind.OPENED,
    EngagementKind.CLICKED,
    EngagementKind.BOUNCED,
    EngagementKind.COMPLAINED,
    EngagementKind.UNSUBSCRIBED,
)
COUNTERS: tuple[str, ...] = tuple(kind.value for kind in COUNTED_KINDS)


class Send(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"  # accepted, waiting for a worker
        SENT = "sent"  # handed to SES
        DELIVERED = "delivered"
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        REJECTED = "rejected"  # refused before SES (suppressed contact, SES rejection, gave up)

    class Source(models.TextChoices):
        TRANSACTIONAL = "transactional"
        SEQUENCE = "sequence"

    id = prefixed_id_primary_key("snd")
    # Not indexed alone: every index below starts with the organisation.
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No database constraint: a deleted contact's sends stay in the log with their contactId.
    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="sends", null=True
    )
    email = models.CharField(max_length=254)
    # The template's slug and name at send time; templates may be deleted, the log keeps them.
    template_slug = models.CharField(max_length=64)
    template_name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.TRANSACTIONAL)
    source_id = models.CharField(max_length=64, null=True, blank=True)  # the sequence's id
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    # The sequence enrolment this send belongs to, and the scheduled send it was made from
    # (scheduling owns both; no FK upwards).
    enrolment_id = PrefixedIdField(prefix="enr", null=True, blank=True)
    scheduled_id = PrefixedIdField(prefix="sch", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    ses_message_id = models.CharField(max_length=128, null=True, blank=True)
    rejection_reason = models.TextField(null=True, blank=True)
    # POST /api/send's ignoreUnsubscribe: delivery checks the contact again with the same rule.
    ignore_unsubscribe = models.BooleanField(default=False)
    # Delivery bookkeeping: a worker claims the send (attempts + 1, lease) before handing it to SES;
    # a stale worker's result is ignored because its attempt number is no longer the current one.
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The Celery task id of the attempt holding the lease: if that task's worker dies, Celery
    # hands the same task to another worker, which may take the send over at once (sends.tasks).
    claimed_by = models.CharField(max_length=64, null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)
    # The attempt whose outcome was last written: a claimed attempt above it recorded nothing.
    recorded_attempt = models.PositiveSmallIntegerField(default=0)
    # Attempts SES may have accepted although we could not tell (a lost answer, a lost worker),
    # each {attempt, at, error, resolution}; only ever appended to or resolved, and reopened only
    # when the resend that resolved it surely did not reach SES (sends.delivery).
    uncertain_attempts = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            # GET /api/sends, newest first (and every filter below, same order).
            models.Index(fields=["organisation", "-id"], name="send_org_id_idx"),
            # ?status=
            models.Index(fields=["organisation", "status", "-id"], name="send_org_status_idx"),
            # ?contactId= and GET /api/contacts/:id/sends
            models.Index(fields=["organisation", "contact", "-id"], name="send_org_contact_idx"),
            # ?templateId=
            models.Index(fields=["organisation", "template_slug", "-id"], name="send_org_template_idx"),
            # ?source=
            models.Index(fields=["organisation", "source", "-id"], name="send_org_source_idx"),
            # ?sourceId= (only sequence sends have one)
            models.Index(
                fields=["organisation", "source_id", "-id"],
                name="send_org_source_id_idx",
                condition=models.Q(source_id__isnull=False),
            ),
            # ?email= (case-insensitive), and the admin's search by address across organisations.
            # An address has few sends, so the organisation is checked on the rows it finds.
            models.Index(Lower("email"), models.F("id").desc(), name="send_email_idx"),
            # SES events find their send by message id (webhook, import_ses_events).
            models.Index(
                fields=["ses_message_id"],
                name="send_ses_message_idx",
                condition=models.Q(ses_message_id__isnull=False),
            ),
            # Metrics rebuilds (backfill_metrics, and the benchmark's raw recount) read the sends whose
            # event time falls in a range; partial, so sends without the event take no space.
            *[
                models.Index(
                    fields=["organisation", field],
                    name=f"send_org_{field}_idx",
                    condition=models.Q(**{f"{field}__isnull": False}),
                )
                for field in ("sent_at", "delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at")
            ],
            # An enrolment's sends, latest first: conditions on "the previous email", the healer.
            models.Index(
                fields=["enrolment_id", "-id"],
                name="send_enrolment_idx",
                condition=models.Q(enrolment_id__isnull=False),
            ),
            # The delivery sweeper: queued sends whose lease expired or that nobody picked up.
            # Partial: only the few queued rows are in it.
            models.Index(
                fields=["lease_expires_at", "created_at"],
                name="send_queued_idx",
                condition=models.Q(status="queued"),
            ),
        ]
        constraints = [
            # Exactly one send per scheduled send, whatever the dispatcher does. (Not per enrolment
            # step: a sequence whose jumps loop back, through a delay, sends a step again.)
            models.UniqueConstraint(
                fields=["scheduled_id"],
                name="send_scheduled_uniq",
                condition=models.Q(scheduled_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} → {self.email}"


class SendContent(models.Model):
    """The rendered email, kept apart so the send log stays narrow. Purged after a retention."""

    send = models.OneToOneField(Send, on_delete=models.CASCADE, primary_key=True, related_name="content")
    html = models.TextField()
    text = models.TextField()
    # The sender chosen when the send was made (domains.sender): the From and Reply-To headers.
    # Empty on sends made before senders existed: delivery uses DEFAULT_FROM_EMAIL for those.
    from_header = models.TextField(blank=True, default="")  # a long non-ASCII name grows when encoded
    reply_to = models.CharField(max_length=254, blank=True, default="")

    def __str__(self) -> str:
        return f"content of {self.send_id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST /api/send with an Idempotency-Key, replayed for 24 hours."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Concurrent requests with one key serialise on this index: one wins, the rest replay.
            models.UniqueConstraint(fields=["organisation", "key"], name="idempotency_org_key_uniq"),
        ]
        indexes = [
            # The hourly purge of expired keys.
            models.Index(fields=["created_at"], name="idempotency_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status})"


class SesNotification(models.Model):
    """Every SES event notification we accepted, stored in the transaction that applies it (or,
    when applying fails, on its own with the error, for the retry SNS makes), and unique on its SNS
    MessageId (so a redelivery or a re-import changes nothing). Events without an SNS envelope
    are keyed by a hash of their body."""

    message_id = models.CharField(max_length=100, unique=True)
    topic_arn = models.CharField(max_length=256, blank=True, default="")
    event_type = models.CharField(max_length=40, blank=True, default="")
    # The SES message the event is about: a send's timeline in the admin lists these.
    ses_message_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "SES notification"
        indexes = [
            # Notifications whose processing failed, for a retry.
            models.Index(
                fields=["received_at"], name="sesnotif_unprocessed_idx", condition=models.Q(processed_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'notification'} {self.message_id}"


class MetricRollup(models.Model):
    """Engagement counts per organisation, scope and quarter hour, kept exact by the engagement
    pipeline in the transaction that records each fact (sends.engagement.rollups); metrics reads
    them. Quarter hours, not hours, because a day or an hour in Asia/Kolkata (+05:30) or
    Asia/Kathmandu (+05:45) starts in the middle of a UTC hour; every time zone's hours, days,
    weeks and months are whole sums of quarter hours, so every period in every zone is exact."""

    class Scope(models.TextChoices):
        ALL = "all"
        TEMPLATE = "template"
        SEQUENCE = "sequence"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    scope_id = models.CharField(max_length=64, blank=True, default="")  # template or sequence id; "" for all
    bucket = models.DateTimeField(help_text="Start of the quarter hour (UTC).")
    sent = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    opened = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)
    bounced = models.BigIntegerField(default=0)
    complained = models.BigIntegerField(default=0)
    unsubscribed = models.BigIntegerField(default=0)

    class Meta:
        db_table = "metrics_metricrollup"  # made by the metrics app, which reads it
        constraints = [
            # The upsert's conflict target, and the index every /api/metrics query reads a range
            # of. It carries the counters too (INCLUDE), so PostgreSQL answers from the index alone
            # (13 months of a template: 6 ms instead of 60). SQLite has no INCLUDE: there a plain
            # unique index stands in (metrics migration 0002).
            models.UniqueConstraint(
                fields=["organisation", "scope", "scope_id", "bucket"], name="rollup_key_uniq", include=COUNTERS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_id or '*'} @ {self.bucket:%Y-%m-%d %H:%M}"

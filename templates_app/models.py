from django.db import models

from kraiter.models import Organisation


class Template(models.Model):
    """An email template. Its id in the API is the client's own slug, unique per organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="templates")
    slug = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    # Liquid sources. `mjml` is set for MJML templates; `html` is the client's HTML or the HTML
    # compiled from the MJML (compiled once at PUT time; Liquid survives MJML compilation).
    subject = models.CharField(max_length=998)
    mjml = models.TextField(null=True, blank=True)
    html = models.TextField()
    text = models.TextField(null=True, blank=True)
    # When `text` is absent: a text part derived from the HTML once, at save time, and rendered
    # with Liquid like the rest (cheaper than converting every rendered email). Null when the
    # HTML's Liquid does not survive the conversion; then each send derives its own.
    text_template = models.TextField(null=True, blank=True, editable=False)
    variables = models.JSONField(default=list, blank=True)
    # The sender of this template's emails, overriding the organisation's (domains.sender);
    # empty: not overridden. The From address is checked at send time, not here.
    from_name = models.CharField(max_length=200, blank=True, default="")
    from_email = models.CharField(max_length=254, blank=True, default="")
    reply_to = models.CharField(max_length=254, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Also the index behind every lookup of a template by its id (POST /api/send).
            models.UniqueConstraint(fields=["organisation", "slug"], name="template_org_slug_uniq"),
        ]
        indexes = [
            # GET /api/templates, newest first.
            models.Index(fields=["organisation", "-created_at", "-slug"], name="template_org_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

"""Staff browse the send log: "did Alice get her password reset, and what happened to it?"

Lists are per organisation by default, newest first, filtered on indexed columns, and never
count more than 10,001 rows. Search finds a send by email, id or SES message id across all
organisations.
"""

from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.html import format_html

from kraiter.admin_tools import (
    CreatedFilter,
    LargeTableAdmin,
    OrganisationFilter,
    admin_link,
    email_preview,
    html_table,
)
from kraiter.api.fields import format_timestamp
from kraiter.api.ids import is_valid_id
from sends.models import Send, SendContent, SesNotification
from templates_app.models import Template

TIMELINE = [
    ("created", "created_at"),
    ("handed to SES", "sent_at"),
    ("delivered", "delivered_at"),
    ("first opened", "opened_at"),
    ("first clicked", "clicked_at"),
    ("bounced", "bounced_at"),
    ("complained", "complained_at"),
]


class TemplateFilter(admin.SimpleListFilter):
    """Template choices come from the (small) templates table, never from DISTINCT over sends."""

    title = "template"
    parameter_name = "template"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        slugs = Template.objects.order_by("slug").values_list("slug", flat=True).distinct()[:200]
        return [(slug, slug) for slug in slugs]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Send]) -> QuerySet[Send]:
        return queryset.filter(template_slug=self.value()) if self.value() else queryset


class SendCreatedFilter(CreatedFilter):
    prefix = "snd"


@admin.register(Send)
class SendAdmin(LargeTableAdmin):
    list_display = ["id", "email", "template_slug", "status", "source", "created_at", "sent_at"]
    list_filter = [OrganisationFilter, "status", "source", TemplateFilter, SendCreatedFilter]
    list_select_related = ["organisation"]
    search_fields = ["email"]
    search_help_text = "An email address, a send id (snd_...) or an SES message id."
    ordering = ["-id"]
    sections: list[tuple[str | None, list[str]]] = [
        (None, ["id", "organisation", "contact_link", "email", "subject", "status", "rejection_reason"]),
        ("Template and source", ["template_slug", "template_name", "source", "source_id", "step"]),
        ("Timeline", ["timeline", "ses_events"]),
        ("Delivery", ["ses_message_id", "attempts", "last_error"]),
        ("Rendered email", ["rendered_html", "rendered_text"]),
    ]
    fieldsets = [(title, {"fields": cast(Any, fields)}) for title, fields in sections]
    readonly_fields = [field for _, fields in sections for field in fields]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Send], search_term: str) -> Any:
        """Exact, indexed lookups only: a send id, an email address or an SES message id."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if is_valid_id(term, "snd"):
            return queryset.filter(pk=term), False
        if "@" in term:
            return queryset.alias(email_key=Lower("email")).filter(email_key=term.lower()), False
        return queryset.filter(ses_message_id=term), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Send | None = None) -> bool:
        return False

    @admin.display(description="contact")
    def contact_link(self, send: Send) -> Any:
        return admin_link("contacts.contact", send.contact_id) if send.contact_id else "-"

    @admin.display(description="what happened")
    def timeline(self, send: Send) -> Any:
        moments = [(getattr(send, field), label) for label, field in TIMELINE if getattr(send, field)]
        return html_table(["when (UTC)", "what"], [[format_timestamp(at), label] for at, label in sorted(moments)])

    @admin.display(description="SES notifications")
    def ses_events(self, send: Send) -> Any:
        if not send.ses_message_id:
            return "None"
        notifications = SesNotification.objects.filter(ses_message_id=send.ses_message_id).order_by("received_at")
        rows = [
            [format_timestamp(n.received_at), n.event_type, "applied" if n.processed_at else f"not applied: {n.error}"]
            for n in notifications[:50]
        ]
        return html_table(["received (UTC)", "event", "state"], rows)

    @admin.display(description="HTML")
    def rendered_html(self, send: Send) -> Any:
        content = SendContent.objects.filter(send_id=send.id).first()
        return email_preview(content.html) if content else "(purged)"

    @admin.display(description="Text")
    def rendered_text(self, send: Send) -> Any:
        content = SendContent.objects.filter(send_id=send.id).first()
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", content.text) if content else "(purged)"


@admin.register(SesNotification)
class SesNotificationAdmin(LargeTableAdmin):
    list_display = ["message_id", "event_type", "ses_message_id", "received_at", "processed_at", "error"]
    list_filter = ["event_type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=message_id", "=ses_message_id"]
    ordering = ["-received_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SesNotification | None = None) -> bool:
        return False

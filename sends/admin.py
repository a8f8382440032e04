"""Staff browse the send log: "did Alice get her password reset, and what happened to it?"

Lists are per organisation by default, newest first, filtered on indexed columns, and never
count more than 10,001 rows. Search finds a send by email, id or SES message id across all
organisations.
"""

from typing import Any, cast

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from contacts.models import Event
from kraiter.admin_search import sends_matching
from kraiter.admin_tools import (
    CreatedFilter,
    LargeTableAdmin,
    OrganisationFilter,
    admin_link,
    email_preview,
    html_table,
)
from kraiter.api.ids import is_valid_id
from kraiter.email_display import email_for_display
from sends.admin_display import content_missing, inert_eml, message_headers, status_badge, timeline_rows, when
from sends.models import Send, SendContent, SesNotification
from templates_app.models import Template


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
    list_display = ["email", "subject", "template_slug", "badge", "opened", "clicked", "created", "short_id"]
    list_display_links = ["email", "subject"]
    list_filter = [OrganisationFilter, "status", "source", TemplateFilter, SendCreatedFilter]
    list_select_related = ["organisation"]
    search_fields = ["email"]
    search_help_text = (
        "Part of an address, a name (alice, Alice Wilson), part of a subject, a send id (snd_...) or an SES message id."
    )
    ordering = ["-id"]
    sections: list[tuple[str | None, list[str]]] = [
        ("What happened", ["status_now", "timeline", "links"]),
        (None, ["id", "organisation", "contact_link", "sender", "recipient", "subject", "rejection_reason"]),
        ("Rendered email", ["rendered_html", "download", "headers", "rendered_text"]),
        ("Template and source", ["template_slug", "template_name", "source", "source_id", "step"]),
        ("Delivery", ["ses_message_id", "attempts", "last_error", "ses_events"]),
    ]
    fieldsets = [(title, {"fields": cast(Any, fields)}) for title, fields in sections]
    readonly_fields = [field for _, fields in sections for field in fields]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Send], search_term: str) -> Any:
        """Exact, indexed lookups for an id, an address or an SES message id; otherwise the
        trigram-indexed partial matches of kraiter.admin_search."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if is_valid_id(term, "snd"):
            return queryset.filter(pk=term), False
        if "@" in term and " " not in term and queryset.alias(k=Lower("email")).filter(k=term.lower()).exists():
            return queryset.alias(email_key=Lower("email")).filter(email_key=term.lower()), False
        if queryset.filter(ses_message_id=term).exists():
            return queryset.filter(ses_message_id=term), False
        return sends_matching(queryset, term), False

    def get_urls(self) -> list[Any]:
        eml = path("<str:object_id>/eml/", self.admin_site.admin_view(self.eml_view), name="sends_send_eml")
        return [eml, *super().get_urls()]

    def eml_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        send = get_object_or_404(Send, pk=object_id)
        content = get_object_or_404(SendContent, send_id=send.id)
        response = HttpResponse(inert_eml(send, content), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="{send.id}.eml"'
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Send | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Send | None = None) -> bool:
        return False  # the send log is an audit log

    @admin.display(description="status", ordering="status")
    def badge(self, send: Send) -> Any:
        return status_badge(send)

    @admin.display(description="status")
    def status_now(self, send: Send) -> Any:
        return status_badge(send)

    @admin.display(description="opened", boolean=True)
    def opened(self, send: Send) -> bool:
        return send.opened_at is not None

    @admin.display(description="clicked", boolean=True)
    def clicked(self, send: Send) -> bool:
        return send.clicked_at is not None

    @admin.display(description=f"created ({timezone.get_current_timezone_name()})", ordering="-id")
    def created(self, send: Send) -> str:
        return when(send.created_at)

    @admin.display(description="id")
    def short_id(self, send: Send) -> Any:
        """Its end, to tell two sends apart; the whole id on hover and on the send's page."""
        return format_html('<span title="{}" style="font-family:monospace">…{}</span>', send.id, send.id[-6:])

    @admin.display(description="from")
    def sender(self, send: Send) -> str:
        return settings.DEFAULT_FROM_EMAIL

    @admin.display(description="to")
    def recipient(self, send: Send) -> str:
        return send.email

    @admin.display(description="contact")
    def contact_link(self, send: Send) -> Any:
        return admin_link("contacts.contact", send.contact_id) if send.contact_id else "-"

    @admin.display(description="timeline")
    def timeline(self, send: Send) -> Any:
        return html_table(["when", "what", "details"], timeline_rows(send))

    @admin.display(description="links in the email")
    def links(self, send: Send) -> Any:
        content = self._content(send)
        if content is None:
            return "-"
        clicked = set(
            Event.objects.filter(send_id=send.id, name="email.clicked").values_list("properties__url", flat=True)[:100]
        )
        destinations = email_for_display(content.html).links
        rows = [[n, url, "clicked" if url in clicked else ""] for n, url in enumerate(destinations, start=1)]
        return html_table(["#", "destination", ""], rows)

    @admin.display(description="SES notifications")
    def ses_events(self, send: Send) -> Any:
        if not send.ses_message_id:
            return "None"
        notifications = SesNotification.objects.filter(ses_message_id=send.ses_message_id).order_by("received_at")
        rows = [
            [when(n.received_at), n.event_type, "applied" if n.processed_at else f"not applied: {n.error}"]
            for n in notifications[:50]
        ]
        return html_table(["received", "event", "state"], rows)

    def _content(self, send: Send) -> SendContent | None:
        if not hasattr(send, "_stored_content"):
            send._stored_content = SendContent.objects.filter(send_id=send.id).first()  # type: ignore[attr-defined]
        return send._stored_content  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="HTML (pixel and tracked links made inert)")
    def rendered_html(self, send: Send) -> Any:
        content = self._content(send)
        return email_preview(content.html) if content else content_missing(send)

    @admin.display(description=".eml")
    def download(self, send: Send) -> Any:
        if self._content(send) is None:
            return "-"
        return format_html('<a href="{}">Download {}.eml</a>', reverse("admin:sends_send_eml", args=[send.id]), send.id)

    @admin.display(description="headers")
    def headers(self, send: Send) -> Any:
        content = self._content(send)
        return html_table(["header", "value"], message_headers(send, content)) if content else "-"

    @admin.display(description="Text")
    def rendered_text(self, send: Send) -> Any:
        content = self._content(send)
        if content is None:
            return content_missing(send)
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", content.text)


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

    def has_delete_permission(self, request: HttpRequest, obj: SesNotification | None = None) -> bool:
        return False  # what SES said, kept as it came

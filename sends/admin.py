"""Staff browse the send log: newest first, filters on indexed columns, no full COUNT."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.html import format_html

from kraiter.admin_tools import BoundedCountPaginator, email_preview
from kraiter.api.ids import is_valid_id
from sends.models import Send, SendContent
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


@admin.register(Send)
class SendAdmin(admin.ModelAdmin):
    list_display = ["id", "email", "template_slug", "status", "source", "created_at", "sent_at"]
    list_filter = ["status", "source", TemplateFilter]
    list_select_related = ["organisation"]
    search_fields = ["email"]
    search_help_text = "An email address, a send id (snd_...) or an SES message id."
    ordering = ["-id"]
    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = [
        "id",
        "organisation",
        "contact_id",
        "email",
        "template_slug",
        "template_name",
        "subject",
        "status",
        "rejection_reason",
        "source",
        "source_id",
        "step",
        "created_at",
        "sent_at",
        "delivered_at",
        "opened_at",
        "clicked_at",
        "bounced_at",
        "complained_at",
        "ses_message_id",
        "attempts",
        "last_error",
        "rendered_html",
        "rendered_text",
    ]
    fieldsets = [
        (None, {"fields": ["id", "organisation", "contact_id", "email", "subject", "status", "rejection_reason"]}),
        ("Template and source", {"fields": ["template_slug", "template_name", "source", "source_id", "step"]}),
        (
            "Timeline",
            {
                "fields": [
                    "created_at",
                    "sent_at",
                    "delivered_at",
                    "opened_at",
                    "clicked_at",
                    "bounced_at",
                    "complained_at",
                ]
            },
        ),
        ("Delivery", {"fields": ["ses_message_id", "attempts", "last_error"]}),
        ("Rendered email", {"fields": ["rendered_html", "rendered_text"]}),
    ]

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

    @admin.display(description="HTML")
    def rendered_html(self, send: Send) -> Any:
        content = SendContent.objects.filter(send_id=send.id).first()
        return email_preview(content.html) if content else "(purged)"

    @admin.display(description="Text")
    def rendered_text(self, send: Send) -> Any:
        content = SendContent.objects.filter(send_id=send.id).first()
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", content.text) if content else "(purged)"

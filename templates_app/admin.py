from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from kraiter.admin_tools import OrganisationFilter, email_preview
from templates_app.models import Template
from templates_app.rendering import Recipient, render_email


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    """Templates are written through the API (so they are validated); staff see them rendered."""

    list_display = ["slug", "name", "organisation", "version", "updated_at"]
    list_filter = [OrganisationFilter]
    search_fields = ["slug", "name", "subject"]
    list_select_related = ["organisation"]
    readonly_fields = [
        "organisation", "slug", "name", "version", "subject", "preview", "variables", "created_at", "updated_at",
    ]  # fmt: skip
    fields = tuple(readonly_fields)

    @admin.display(description="rendered (no variables)")
    def preview(self, template: Template) -> Any:
        rendered = render_email(template, recipient=Recipient(email="preview@example.com"))
        return format_html("<p><strong>{}</strong></p>{}", rendered.subject, email_preview(rendered.html))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Template | None = None) -> bool:
        return False

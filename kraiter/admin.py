from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kraiter import services
from kraiter.models import ApiKey, Organisation, StaffMembership

admin.site.site_header = "Kraiter"
admin.site.site_title = "Kraiter admin"
admin.site.index_title = "Dashboard"
# The send log's columns need the width; the app list is one click away (Home).
admin.site.enable_nav_sidebar = False
# Today's numbers, the 30-day chart and a send search above the app list (metrics' template tag).
admin.site.index_template = "admin/kraiter_index.html"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "sending_status", "created_at"]
    list_filter = ["sending_status"]
    search_fields = ["name"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are shown by their prefix only; the raw key appears once, in the message after adding."""

    list_display = ["name", "key_prefix", "organisation", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organisation", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_prefix"]
    list_select_related = ["organisation"]
    actions = ["revoke"]
    fields = ["organisation", "name", "key_prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["key_prefix", "created_at", "last_used_at", "revoked_at"]
        return ["organisation", "name", "key_prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        created = services.api_key_create(organisation=obj.organisation, name=obj.name)
        obj.pk = created.api_key.pk
        obj.key_prefix = created.api_key.key_prefix
        messages.warning(request, f"The new key is {created.raw_key} — copy it now, it will not be shown again.")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset.select_related("organisation"):
            services.api_key_revoke(organisation=api_key.organisation, key_id=api_key.id)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation"]
    list_select_related = ["user", "organisation"]
    autocomplete_fields = ["organisation"]

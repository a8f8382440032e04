from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from contacts import services
from contacts.models import Contact, Event


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "id", "organisation", "unsubscribed", "suppressed", "suppression_reason", "created_at"]
    list_filter = ["suppressed", "unsubscribed", "suppression_reason", "organisation"]
    search_fields = ["email"]
    list_select_related = ["organisation"]
    readonly_fields = [
        "id", "unsubscribed", "unsubscribed_at", "suppressed", "suppression_reason", "suppressed_at",
        "created_at", "updated_at",
    ]  # fmt: skip
    show_full_result_count = False
    actions = ["suppress", "unsuppress", "resubscribe"]

    @admin.action(description="Suppress (stop all mail to them)")
    def suppress(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset:
            services.contact_suppress(contact=contact, reason=Contact.SuppressionReason.MANUAL)
        self.message_user(request, f"Suppressed {queryset.count()} contact(s).")

    @admin.action(description="Lift the suppression")
    def unsuppress(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset:
            services.contact_unsuppress(contact=contact)
        self.message_user(request, f"Unsuppressed {queryset.count()} contact(s).")

    @admin.action(description="Resubscribe (they asked to get mail again)")
    def resubscribe(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset:
            services.contact_resubscribe(contact=contact)
        self.message_user(request, f"Resubscribed {queryset.count()} contact(s).")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "contact", "timestamp", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name", "contact__email"]
    list_select_related = ["contact", "organisation"]
    raw_id_fields = ["contact"]
    show_full_result_count = False

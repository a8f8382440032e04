from django.contrib import admin

from contacts.models import Contact, Event


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "id", "organisation", "unsubscribed", "suppressed", "suppression_reason", "created_at"]
    list_filter = ["suppressed", "unsubscribed", "suppression_reason", "organisation"]
    search_fields = ["email"]
    list_select_related = ["organisation"]
    readonly_fields = ["id", "created_at", "updated_at", "unsubscribed_at", "suppressed_at"]
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "contact", "timestamp", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name", "contact__email"]
    list_select_related = ["contact", "organisation"]
    raw_id_fields = ["contact"]
    show_full_result_count = False

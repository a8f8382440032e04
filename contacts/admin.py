"""Contacts in the admin: everything about one person on one page, and the opt-in/opt-out actions."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from contacts import services
from contacts.models import Contact, Event
from kraiter.admin_search import contacts_matching
from kraiter.admin_tools import CreatedFilter, LargeTableAdmin, OrganisationFilter, admin_link, html_table
from kraiter.api.fields import format_timestamp
from kraiter.api.ids import is_valid_id

RECENT = 20


class ContactCreatedFilter(CreatedFilter):
    prefix = "cnt"


@admin.register(Contact)
class ContactAdmin(LargeTableAdmin):
    list_display = ["email", "id", "organisation", "unsubscribed", "suppressed", "suppression_reason", "created_at"]
    list_filter = [OrganisationFilter, "suppressed", "unsubscribed", "suppression_reason", ContactCreatedFilter]
    search_fields = ["email"]
    search_help_text = "Part of an address, a name (alice, Alice Wilson) or a contact id (cnt_...)."
    list_select_related = ["organisation"]
    ordering = ["-id"]
    actions = ["suppress", "unsuppress", "resubscribe"]
    fieldsets = [
        (None, {"fields": ["id", "organisation", "email", "properties"]}),
        (
            "Mail preferences",
            {"fields": ["unsubscribed", "unsubscribed_at", "suppressed", "suppression_reason", "suppressed_at"]},
        ),
        ("Activity", {"fields": ["recent_sends", "scheduled", "enrolments", "recent_events"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
        "id", "organisation", "email", "unsubscribed", "unsubscribed_at", "suppressed", "suppression_reason",
        "suppressed_at", "recent_sends", "scheduled", "enrolments", "recent_events", "created_at", "updated_at",
    ]  # fmt: skip

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Contact], search_term: str) -> Any:
        """The id, exactly; otherwise part of the address or of the name (kraiter.admin_search)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if is_valid_id(term, "cnt"):
            return queryset.filter(pk=term), False
        return contacts_matching(queryset, term), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # contacts come from the API, events and imports

    @admin.display(description=f"latest {RECENT} sends")
    def recent_sends(self, contact: Contact) -> Any:
        sends = contact.sends.filter(organisation_id=contact.organisation_id).order_by("-id")[:RECENT]
        rows = [
            [admin_link("sends.send", s.id, format_timestamp(s.created_at)), s.template_slug, s.subject, s.status]
            for s in sends
        ]
        everything = reverse("admin:sends_send_changelist") + f"?q={contact.email}"
        table = html_table(["created (UTC)", "template", "subject", "status"], rows)
        return format_html('{}<p><a href="{}">All sends to this address</a></p>', table, everything)

    @admin.display(description="scheduled sends")
    def scheduled(self, contact: Contact) -> Any:
        rows = [
            [admin_link("scheduling.scheduledsend", s.id, format_timestamp(s.scheduled_for)), s.template_slug, s.step]
            for s in contact.scheduled_sends.order_by("scheduled_for")[:RECENT]
        ]
        return html_table(["due (UTC)", "template", "step"], rows)

    @admin.display(description="enrolments")
    def enrolments(self, contact: Contact) -> Any:
        rows = [
            [admin_link("scheduling.enrolment", e.id, e.sequence_slug), e.status, e.current_step, e.ended_reason]
            for e in contact.enrolments.order_by("-created_at")[:RECENT]
        ]
        return html_table(["sequence", "status", "step", "ended because"], rows)

    @admin.display(description=f"latest {RECENT} events")
    def recent_events(self, contact: Contact) -> Any:
        events = contact.events.order_by("-timestamp")[:RECENT]
        return html_table(["when (UTC)", "event"], [[format_timestamp(e.timestamp), e.name] for e in events])

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
class EventAdmin(LargeTableAdmin):
    list_display = ["name", "contact", "timestamp", "organisation", "reactions"]
    list_filter = [OrganisationFilter]
    search_fields = ["=name"]
    list_select_related = ["contact", "organisation"]
    raw_id_fields = ["contact"]
    ordering = ["-id"]

    @admin.display(description="sequences")
    def reactions(self, event: Event) -> str:
        """What the sequences made of it: pending, or why a trigger did not enrol the contact."""
        if event.reacted_at is None:
            return "not read yet"
        return "; ".join(event.reaction_notes) or "read"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

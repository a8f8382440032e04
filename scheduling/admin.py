"""Staff view of sequences, enrolments and scheduled sends. Actions go through the services."""

import json
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from kraiter.admin_tools import BoundedCountPaginator
from scheduling import services
from scheduling.models import Enrolment, ScheduledSend, Sequence


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "organisation", "status", "version", "active_enrolments", "updated_at"]
    list_filter = ["status", "organisation"]
    search_fields = ["slug", "name"]
    list_select_related = ["organisation"]
    actions = ["activate", "pause"]
    readonly_fields = ["organisation", "slug", "status", "version", "readable_definition", "triggers", "created_at"]
    fields = ["name", *readonly_fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sequence]:
        return (
            super()
            .get_queryset(request)
            .annotate(active_count=Count("enrolments", filter=Q(enrolments__status="active")))
        )

    @admin.display(description="active enrolments", ordering="active_count")
    def active_enrolments(self, sequence: Any) -> int:
        return sequence.active_count

    @admin.display(description="definition")
    def readable_definition(self, sequence: Sequence) -> Any:
        steps = services.sequence_current_version(sequence).steps
        lines = [f"{number}. {_describe(step)}" for number, step in enumerate(steps, start=1)]
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre><details><summary>YAML</summary><pre>{}</pre></details>",
            "\n".join(lines),
            sequence.definition,
        )

    @admin.action(description="Activate the selected sequences")
    def activate(self, request: HttpRequest, queryset: QuerySet[Sequence]) -> None:
        for sequence in queryset:
            services.sequence_activate(sequence=sequence)
        self.message_user(request, "Activated.")

    @admin.action(description="Pause the selected sequences")
    def pause(self, request: HttpRequest, queryset: QuerySet[Sequence]) -> None:
        for sequence in queryset:
            services.sequence_pause(sequence=sequence)
        self.message_user(request, "Paused.")


def _describe(step: dict[str, Any]) -> str:
    if step["type"] == "email":
        return f"send {step['template']}"
    if step["type"] == "delay":
        hours = step["seconds"] / 3600
        return f"wait {hours:g} hour(s)" if hours < 48 else f"wait {hours / 24:g} day(s)"
    value = "" if step["operator"] in ("exists", "notExists") else f" {json.dumps(step['value'])}"
    return f"if {step['property']} {step['operator']}{value}: on true {step['onTrue']}, on false {step['onFalse']}"


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["id", "contact", "sequence_slug", "status", "current_step", "ended_reason", "created_at"]
    list_filter = ["status", "sequence"]
    search_fields = ["contact__email", "sequence_slug"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact", "sequence", "version"]
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Enrolment | None = None) -> bool:
        return False


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("now", "due now"), ("hour", "within an hour"), ("day", "within a day")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ScheduledSend]) -> QuerySet[ScheduledSend]:
        from datetime import timedelta

        from django.utils import timezone

        span = {"now": timedelta(0), "hour": timedelta(hours=1), "day": timedelta(days=1)}.get(self.value() or "")
        return queryset if span is None else queryset.filter(scheduled_for__lte=timezone.now() + span)


@admin.register(ScheduledSend)
class ScheduledSendAdmin(admin.ModelAdmin):
    list_display = ["id", "contact", "template_slug", "sequence", "step", "scheduled_for", "held"]
    list_filter = ["sequence", DueFilter, "held"]
    search_fields = ["contact__email"]
    list_select_related = ["contact", "sequence"]
    ordering = ["scheduled_for", "id"]
    actions = ["cancel"]
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ScheduledSend | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ScheduledSend | None = None) -> bool:
        return False  # cancelling goes through the service (the action below), which ends the enrolment

    @admin.action(description="Cancel the selected scheduled sends", permissions=["view"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[ScheduledSend]) -> None:
        count = 0
        for scheduled in queryset:
            services.scheduled_send_cancel(scheduled=scheduled, reason="cancelled by staff")
            count += 1
        self.message_user(request, f"Cancelled {count} scheduled send(s).")

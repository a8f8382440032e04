"""Staff view of sequences, enrolments and scheduled sends. Actions go through the services."""

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from kraiter.admin_tools import BoundedCountPaginator, LargeTableAdmin, OrganisationFilter
from scheduling import services
from scheduling.conditions import describe
from scheduling.models import Enrolment, ScheduledSend, Sequence


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "organisation", "status", "version", "active_enrolments", "updated_at"]
    list_filter = [OrganisationFilter, "status"]
    search_fields = ["slug", "name"]
    list_select_related = ["organisation"]
    actions = ["activate", "pause"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sequences are written through the API, which validates their definition

    readonly_fields = ["organisation", "slug", "status", "version", "readable_definition", "triggers", "created_at"]
    fields = ["name", *readonly_fields]

    @admin.display(description="active enrolments")
    def active_enrolments(self, sequence: Sequence) -> str:
        # Counted per row (a page holds few sequences) through the partial index of active ones,
        # up to a bound, so neither this nor the list's own count walks all enrolments.
        active = Enrolment.objects.filter(sequence=sequence, status=Enrolment.Status.ACTIVE)
        count = active[: BoundedCountPaginator.limit + 1].count()
        return f"{BoundedCountPaginator.limit:,}+" if count > BoundedCountPaginator.limit else str(count)

    @admin.display(description="definition")
    def readable_definition(self, sequence: Sequence) -> Any:
        version = services.sequence_current_version(sequence)
        lines = [f"{number}. {_describe(step)}" for number, step in enumerate(version.steps, start=1)]
        lines += [f"exit when {describe(condition)}" for condition in version.exit_conditions]
        return format_html(
            "<pre style='white-space:pre-wrap'>{}</pre><details><summary>As sent</summary><pre>{}</pre></details>",
            "\n".join(lines),
            sequence.definition if sequence.definition_json is None else json.dumps(sequence.definition_json, indent=2),
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
        text = f"send {step['template']}"
        return f"wait {_duration(step['wait'])}, then {text}" if step.get("wait") else text
    if step["type"] == "delay":
        return f"wait {_duration(step['seconds'])}"
    return f"if {describe(step['condition'])}: on true {_outcome(step['onTrue'])}, on false {_outcome(step['onFalse'])}"


def _duration(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} hour(s)" if hours < 48 else f"{hours / 24:g} day(s)"


def _outcome(outcome: str | int) -> str:
    return f"go to step {outcome + 1}" if isinstance(outcome, int) else str(outcome)


@admin.register(Enrolment)
class EnrolmentAdmin(LargeTableAdmin):
    list_display = ["id", "contact", "sequence_slug", "status", "current_step", "ended_reason", "created_at"]
    list_filter = [OrganisationFilter, "status"]
    search_fields = ["=sequence_slug"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact", "sequence", "version"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # enrolments come from the API and from events

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
class ScheduledSendAdmin(LargeTableAdmin):
    list_display = ["id", "contact", "template_slug", "sequence", "step", "scheduled_for", "held"]
    list_filter = [OrganisationFilter, "sequence", DueFilter, "held"]
    search_fields = ["=template_slug"]
    list_select_related = ["contact", "sequence"]
    ordering = ["scheduled_for", "id"]
    actions = ["cancel"]

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

"""Staff see each organisation's domains (status, the records to copy, the last check) and set
its sender. Every write goes through domains.services."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from domains import services
from domains.models import Domain, SenderSettings
from domains.sender import SenderBook
from kraiter.admin_tools import OrganisationFilter, html_table
from kraiter.errors import ServiceError


def _copyable(value: str) -> Any:
    # A read-only input: one click selects the whole value, ready to paste into a DNS console.
    return format_html('<input type="text" readonly value="{}" size="60" onclick="this.select()">', value)


class DomainAddForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ["organisation", "name"]

    def clean_name(self) -> str:
        try:
            name = services.normalise_domain(self.cleaned_data.get("name") or "")
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None
        if Domain.objects.filter(name=name).exists():
            raise forms.ValidationError(f"The domain {name} has already been added.")
        return name


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    add_form = DomainAddForm
    list_display = ["name", "organisation", "status", "sending_enabled", "verified_at", "last_checked_at"]
    list_filter = [OrganisationFilter, "status"]
    list_select_related = ["organisation"]
    search_fields = ["name"]
    actions = ["check_now"]
    readonly_fields = [
        "status", "sending_enabled", "failure_reason", "records", "verified_at", "last_checked_at",
        "next_check_at", "checks", "created_at", "updated_at",
    ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "organisation", "name"] if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["organisation", "name"]
        return ["organisation", "name", *self.readonly_fields]

    @admin.display(description="DNS records to publish")
    def records(self, obj: Domain) -> Any:
        rows = [[r["purpose"], r["type"], _copyable(r["name"]), _copyable(r["value"])] for r in obj.dns_records]
        return html_table(["purpose", "type", "name", "value"], rows)

    def save_model(self, request: HttpRequest, obj: Domain, form: Any, change: bool) -> None:
        if not change:
            obj.pk = services.domain_add(organisation=obj.organisation, name=obj.name).pk

    def delete_model(self, request: HttpRequest, obj: Domain) -> None:
        services.domain_delete(domain=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Domain]) -> None:
        for domain in queryset:
            services.domain_delete(domain=domain)

    @admin.action(description="Check the selected domains now")
    def check_now(self, request: HttpRequest, queryset: QuerySet[Domain]) -> None:
        results = [services.domain_verify(domain=domain) for domain in queryset]
        self.message_user(request, "; ".join(f"{d.name}: {d.status}" for d in results))


class SenderSettingsForm(forms.ModelForm):
    class Meta:
        model = SenderSettings
        fields = ["organisation", "from_name", "from_email", "reply_to"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        organisation, from_email = data.get("organisation"), data.get("from_email")
        if organisation is not None and from_email:
            refusal = SenderBook().refusal(organisation=organisation, address=from_email)
            if refusal is not None:
                self.add_error("from_email", refusal)
        return data


@admin.register(SenderSettings)
class SenderSettingsAdmin(admin.ModelAdmin):
    form = SenderSettingsForm
    list_display = ["organisation", "from_name", "from_email", "reply_to", "updated_at"]
    list_select_related = ["organisation"]

    def save_model(self, request: HttpRequest, obj: SenderSettings, form: Any, change: bool) -> None:
        services.sender_settings_update(
            organisation=obj.organisation, from_name=obj.from_name, from_email=obj.from_email, reply_to=obj.reply_to
        )

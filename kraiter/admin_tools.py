"""Helpers that keep the admin fast on tables of millions of rows."""

from datetime import timedelta
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from kraiter.api.ids import id_floor
from kraiter.email_display import email_for_display
from kraiter.models import Organisation, StaffMembership


class BoundedCountPaginator(Paginator):
    """Counts at most `limit` + 1 rows, so a change list never runs COUNT(*) over a big table.

    Past the limit the admin shows "10,001" results and pages up to there; narrowing the
    filters or searching is the way further."""

    limit = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.limit + 1].count()  # type: ignore[attr-defined]


class SearchPaginator(BoundedCountPaginator):
    """A search's pages: the keys of the first `limit` + 1 matching rows, in the list's order,
    read once; the count is how many there are, and a page is its rows by key. A partial match
    is answered by a trigram index scan (kraiter.admin_search) that costs the same whether it
    counts or fetches a page: the bounded count and the page ran it twice."""

    limit = 1_000  # "1,001 results": a search that broad is narrowed, not paged through

    @cached_property
    def _keys(self) -> list[Any]:
        return list(self.object_list.values_list("pk", flat=True)[: self.limit + 1])  # type: ignore[attr-defined]

    @cached_property
    def count(self) -> int:
        return len(self._keys)

    def page(self, number: Any) -> Any:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.rows(self._keys[bottom:top]), number, self)  # type: ignore[attr-defined]

    def every_row(self) -> Any:
        """The matching rows of a result that fits one page (or that "Show all" asks for)."""
        return self.rows(self._keys)

    def rows(self, keys: list[Any]) -> Any:
        return self.object_list.filter(pk__in=keys)  # type: ignore[attr-defined]


class LargeTableChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        one_page = not self.multi_page or (self.show_all and self.can_show_all)
        if one_page and isinstance(self.paginator, SearchPaginator):
            # Django's change list runs the whole query again for a single page of results
            # (the search's index scan, a second time); the keys read for the count are its rows.
            self.result_list = self.paginator.every_row()


class LargeTableAdmin(admin.ModelAdmin):
    """For tables of millions of rows: counts bounded, no facet counts, 50 rows a page."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LargeTableChangeList

    def get_paginator(self, request: HttpRequest, queryset: Any, per_page: int, *args: Any, **kwargs: Any) -> Any:
        if request.GET.get(SEARCH_VAR, "").strip():
            return SearchPaginator(queryset, per_page, *args, **kwargs)
        return super().get_paginator(request, queryset, per_page, *args, **kwargs)


def email_preview(html: str, *, height: int = 720) -> Any:
    """Rendered HTML in a sandboxed iframe: its scripts cannot run, its links cannot navigate the
    admin, and our pixel and tracked links are made inert first (kraiter.email_display), so
    looking at an email never records an open or a click. Wide enough for a 600 px email."""
    return format_html(
        '<iframe sandbox="" srcdoc="{}" title="email preview" style="width:100%;min-width:640px;'
        'max-width:960px;height:{}px;border:1px solid #ccc;background:#fff"></iframe>',
        email_for_display(html).html,
        height,
    )


class OrganisationFilter(admin.SimpleListFilter):
    """Lists show one organisation at a time (the staff member's own, or the first), so every
    filter runs on an index that starts with the organisation. Searching looks across all of
    them unless one is chosen; "All organisations" is there when needed."""

    title = "organisation"
    parameter_name = "organisation"

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        super().__init__(request, *args, **kwargs)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("all", "All organisations"), *((o.id, o.name) for o in Organisation.objects.order_by("name")[:200])]

    @cached_property
    def current(self) -> str | None:
        """The organisation shown: the chosen one, "all" while searching without a choice, else
        the default (asked once per page, for both the choices and the query)."""
        value = self.value()
        if value is None and self.request.GET.get("q"):
            return "all"
        return value or self.default(self.request)

    def choices(self, changelist: Any) -> Any:
        for value, label in self.lookup_choices:
            yield {
                "selected": self.current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.current in (None, "all"):
            return queryset
        return queryset.filter(organisation_id=self.current)

    @staticmethod
    def default(request: HttpRequest) -> str | None:
        user_id = request.user.pk or 0
        membership = StaffMembership.objects.filter(user_id=user_id).values_list("organisation_id", flat=True)
        return membership.first() or Organisation.objects.order_by("name").values_list("id", flat=True).first()


class CreatedFilter(admin.SimpleListFilter):
    """Recent rows by their id: ids begin with their creation time, so this is a primary-key range."""

    title = "created"
    parameter_name = "created"
    prefix = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", "Today"), ("7", "Past 7 days"), ("30", "Past 30 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() not in ("1", "7", "30"):
            return queryset
        since = timezone.now() - timedelta(days=int(self.value() or 0))
        if self.value() == "1":
            since = since.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return queryset.filter(pk__gte=id_floor(self.prefix, since))


def admin_link(model: str, pk: Any, label: Any = None) -> Any:
    """A link to an object's admin page; `model` is "app_label.modelname"."""
    app_label, model_name = model.split(".")
    url = reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else pk)


def html_table(headers: list[str], rows: list[list[Any]], *, empty: str = "None") -> Any:
    if not rows:
        return empty
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)

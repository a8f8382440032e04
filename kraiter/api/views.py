"""The base every API view uses: the caller's organisation, filters and keyset pages."""

import functools
from collections.abc import Sequence
from typing import Any, cast

from django.db.models import QuerySet
from django_filters import FilterSet
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from kraiter.api.authentication import Principal
from kraiter.api.errors import flatten_errors
from kraiter.api.pagination import CursorKey, paginate, parse_limit
from kraiter.errors import InvalidInput
from kraiter.models import Organisation

PAGE_PARAMETER_NAMES = ("cursor", "limit")
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="nextCursor from the previous page."),
    OpenApiParameter("limit", int, description="1 to 100 (default 20)."),
]


class ApiViewSet(viewsets.ViewSet):
    # Any shape reaches the view, so a malformed id is a 400 that says so, not an anonymous 404.
    lookup_value_regex = "[^/]+"

    @property
    def organisation(self) -> Organisation:
        return cast(Principal, self.request.user).organisation

    def check_query_parameters(self, *names: str) -> None:
        """A query parameter this endpoint does not take is a 400 naming it: a filter a client
        misspells (or one this service lacks) must not silently return everything."""
        unknown = sorted(set(self.request.query_params) - set(names))
        if unknown:
            accepted = ", ".join(sorted(names)) or "none"
            raise InvalidInput(
                f"Unknown query parameter '{unknown[0]}'; this endpoint takes: {accepted}.",
                details={name: ["Not a parameter of this endpoint."] for name in unknown},
            )
        # An empty value (`?status=`) is refused rather than read as "absent": a client that
        # builds its query from a variable it forgot to set learns so instead of getting everything.
        empty = sorted(name for name, values in self.request.query_params.lists() if "" in values)
        if empty:
            raise InvalidInput(
                f"The query parameter '{empty[0]}' is empty: give it a value or leave it out.",
                details={name: ["Empty."] for name in empty},
            )

    def filtered(self, filterset_class: type[FilterSet], queryset: QuerySet[Any]) -> tuple[QuerySet[Any], dict]:
        """Applies a list's filters from the query string; invalid values are a 400."""
        self.check_query_parameters(*PAGE_PARAMETER_NAMES, *filterset_class.base_filters, *_renamed(filterset_class))
        self._query_checked = True
        filterset = filterset_class(data=self.request.query_params, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            details = flatten_errors(filterset.errors)
            field, messages = next(iter(details.items()))
            raise InvalidInput(f"Invalid '{field}' filter: {messages[0]}", details=details)
        filters = {name: value for name, value in filterset.form.cleaned_data.items() if value not in (None, "")}
        return filterset.qs, filters

    def upsert_body(self, serializer_class: type[serializers.Serializer], pk: str) -> dict[str, Any]:
        """A PUT's validated body, whose `id` (when given) must be the one in the path."""
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(body.validated_data)
        if data.get("id", pk) != pk:
            raise InvalidInput(f"The body's id '{data['id']}' differs from the id in the path '{pk}'.")
        return data

    def page(
        self,
        queryset: QuerySet[Any],
        serializer_class: type[serializers.Serializer],
        *,
        keys: Sequence[CursorKey],
        filters: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        within: str = "organisation_id",
    ) -> Response:
        request: Request = self.request
        if not getattr(self, "_query_checked", False):
            self.check_query_parameters(*PAGE_PARAMETER_NAMES)
        result = paginate(
            queryset,
            keys=keys,
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit")),
            filters=filters or {},
            within=within,
        )
        data = serializer_class(result.items, many=True, context=context or {}).data
        return Response({"data": data, "nextCursor": result.next_cursor})


@functools.cache
def paginated(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of a list response `{data: [item], nextCursor}` (documentation only)."""
    name = item.__name__.removesuffix("Serializer") + "PageSerializer"
    fields = {
        "data": item(many=True),
        "nextCursor": serializers.CharField(allow_null=True, help_text="null on the last page"),
    }
    page = type(name, (serializers.Serializer,), fields)
    # The page is the response itself: a list view's response must not be wrapped in an array.
    return cast(type[serializers.Serializer], extend_schema_serializer(many=False)(page))


def _renamed(filterset_class: type[FilterSet]) -> tuple[str, ...]:
    """Query names a filterset gives its filters itself (a Python keyword like `from`)."""
    return tuple(getattr(filterset_class, "query_names", ()))

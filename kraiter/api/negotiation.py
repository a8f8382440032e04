from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer


class AlwaysJson(BaseContentNegotiation):
    """The API speaks JSON whatever the Accept header says (a browser gets JSON, not a 406)."""

    def select_parser(self, request: Any, parsers: Iterable[Any]) -> Any:
        content_type = request.content_type or ""
        for parser in parsers:
            if content_type.split(";")[0].strip() in ("", parser.media_type):
                return parser
        return None

    def select_renderer(self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None) -> Any:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

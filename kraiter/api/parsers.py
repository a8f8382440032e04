"""JSON bodies: bounded in size, and always an object."""

import io
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kraiter.api.errors import body_too_large_message
from kraiter.errors import InvalidInput


class JsonObjectParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise InvalidInput(body_too_large_message())
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as exc:
            raise ParseError(str(exc.detail).removeprefix("JSON parse error - ")) from exc
        if not isinstance(data, dict):
            raise InvalidInput("The request body must be a JSON object.")
        return data

"""JSON bodies: bounded in size and nesting, holding only text the database can store, and
always an object. Checked here, once, for every endpoint (kraiter.untrusted says why)."""

import io
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from kraiter.api.errors import body_too_large_message
from kraiter.errors import InvalidInput
from kraiter.untrusted import UntrustedInput, check_value, too_deep


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
        except RecursionError:  # json's decoder met its own limit, far deeper than ours
            raise _refused(too_deep()) from None
        try:
            check_value(data)
        except UntrustedInput as exc:
            raise _refused(exc) from None
        if not isinstance(data, dict):
            raise InvalidInput("The request body must be a JSON object.")
        return data


def _refused(problem: UntrustedInput) -> InvalidInput:
    details = {problem.path: [problem.problem]} if problem.path else None
    return InvalidInput(problem.describe("The request body"), details=details)

"""OpenAPI: every operation documents the error envelope next to its own responses."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[
            "VALIDATION_ERROR",
            "UNAUTHORISED",
            "FORBIDDEN",
            "NOT_FOUND",
            "METHOD_NOT_ALLOWED",
            "CONFLICT",
            "UNPROCESSABLE_ENTITY",
            "RATE_LIMITED",
            "INTERNAL_ERROR",
        ]
    )
    message = serializers.CharField()
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field-level problems: field name to messages.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_DESCRIPTIONS = {
    400: "VALIDATION_ERROR: invalid body, query parameter, cursor or id.",
    401: "UNAUTHORISED: missing, invalid or revoked API key.",
    403: "FORBIDDEN: this credential may not do this.",
    404: "NOT_FOUND: no such object in this organisation.",
    409: "CONFLICT: a uniqueness clash.",
    422: "UNPROCESSABLE_ENTITY: a valid request the current state forbids.",
    429: "RATE_LIMITED: over the rate limit; see Retry-After.",
    500: "INTERNAL_ERROR: a bug, logged with the request id.",
}


ERROR_CODES = {status: text.split(":", 1)[0] for status, text in _DESCRIPTIONS.items()}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses to list in an operation's `extend_schema(responses=...)`."""
    return {code: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[code]) for code in codes}


class KraiterAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        always = [400, 401, 429, 500] if self.view.authentication_classes else [400, 500]
        if "{" in self.path:
            always.append(404)
        for code in always:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[code]), str(code)
                )
        return responses

"""The error envelope, in one place.

Every failure a client can see is `{"error": {"code", "message", "details"?}}`: DRF's own
exceptions, the services' `kraiter.errors` types, unknown routes under /api/ and anything
unexpected (a 500 that says nothing internal and carries the request id).
"""

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from kraiter.errors import ServiceError

logger = logging.getLogger("kraiter.api")


def error_body(code: str, message: str, details: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = dict(details)
    return {"error": error}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": [messages]}."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = str(key) if key != "non_field_errors" else ""
            flat.update(flatten_errors(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
        return flat
    if isinstance(detail, list) and detail and all(not isinstance(d, (list, Mapping)) for d in detail):
        return {prefix: [str(d) for d in detail]}
    if isinstance(detail, list):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(flatten_errors(value, f"{prefix}[{index}]" if prefix else f"[{index}]"))
        return flat
    return {prefix: [str(detail)]}


def _validation_message(details: dict[str, list[str]]) -> str:
    field, messages = next(iter(details.items()))
    if not field:
        return messages[0]
    if messages[0] == "This field is required.":
        return f"The '{field}' field is required."
    return f"'{field}': {messages[0]}"


def _from_drf(exc: drf.APIException) -> tuple[int, str, str, dict[str, list[str]] | None]:
    if isinstance(exc, drf.ValidationError):
        details = flatten_errors(exc.detail) or {"": ["Invalid input."]}
        message = _validation_message(details)
        return 400, "VALIDATION_ERROR", message, {k: v for k, v in details.items() if k} or None
    if isinstance(exc, drf.ParseError):
        return 400, "VALIDATION_ERROR", f"The request body is not valid JSON: {exc.detail}", None
    if isinstance(exc, drf.UnsupportedMediaType):
        return 400, "VALIDATION_ERROR", "The request body must be JSON (Content-Type: application/json).", None
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return 401, "UNAUTHORISED", str(exc.detail), None
    if isinstance(exc, drf.PermissionDenied):
        return 403, "FORBIDDEN", str(exc.detail), None
    if isinstance(exc, drf.NotFound):
        return 404, "NOT_FOUND", str(exc.detail), None
    if isinstance(exc, drf.MethodNotAllowed):
        return 405, "METHOD_NOT_ALLOWED", str(exc.detail), None
    if isinstance(exc, drf.Throttled):
        return 429, "RATE_LIMITED", "Too many requests; retry after the number of seconds in Retry-After.", None
    return exc.status_code, "VALIDATION_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR", str(exc.detail), None


def body_too_large_message() -> str:
    return f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB."


def recursion_error_body(request: HttpRequest | None) -> dict[str, Any]:
    """Input is bounded before anything recursive parses it (kraiter.untrusted); a RecursionError
    that still happens is input nested deeper than some check allows: the client's 400, logged as
    the gap it is."""
    logger.warning("RecursionError while serving %s: a nesting check is missing", getattr(request, "path", "-"))
    return error_body("VALIDATION_ERROR", "The request is nested too deeply to be processed.")


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception raised in an API view ends here."""
    headers: dict[str, str] = {}
    details: Mapping[str, Sequence[str]] | None
    if isinstance(exc, ServiceError):
        status, code, message, details = exc.status, exc.code, exc.message, exc.details
    elif isinstance(exc, drf.APIException):
        status, code, message, details = _from_drf(exc)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
    elif isinstance(exc, Http404):
        status, code, message, details = 404, "NOT_FOUND", "Not found.", None
    elif isinstance(exc, DjangoPermissionDenied):
        status, code, message, details = 403, "FORBIDDEN", "You may not do this.", None
    elif isinstance(exc, RequestDataTooBig):
        status, code, message, details = 400, "VALIDATION_ERROR", body_too_large_message(), None
    elif isinstance(exc, DjangoValidationError):
        status, code, message, details = 400, "VALIDATION_ERROR", "; ".join(exc.messages), None
    elif isinstance(exc, RecursionError):
        return Response(recursion_error_body(context.get("request")), status=400)
    else:
        request = context.get("request")
        request_id = getattr(request, "request_id", "-")
        logger.error("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(error_body("INTERNAL_ERROR", f"Internal error (request id {request_id})."), status=500)
    return Response(error_body(code, message, details), status=status, headers=headers)


@csrf_exempt  # a POST to a path that names nothing is a 404 in the envelope, not CSRF's HTML 403
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any path under /api/ that names no endpoint, whatever the method."""
    return JsonResponse(error_body("NOT_FOUND", f"No endpoint at {request.path}."), status=404)


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the schema and docs pages, whose renderers are not the API's (the docs page is HTML):
    any method but GET and HEAD is a 405 in the envelope, like every other path under /api/."""

    @functools.wraps(view)
    def only_reads(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            message = f'Method "{request.method}" not allowed.'
            return JsonResponse(error_body("METHOD_NOT_ALLOWED", message), status=405, headers={"Allow": "GET, HEAD"})
        return view(request, *args, **kwargs)

    return csrf_exempt(only_reads)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refuses before any view (a Host not in ALLOWED_HOSTS, for one)."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("VALIDATION_ERROR", "The request is malformed."), status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> HttpResponse:
    request_id = getattr(request, "request_id", "-")
    if request.path.startswith(("/api/", "/webhooks/", "/t/")):
        return JsonResponse(error_body("INTERNAL_ERROR", f"Internal error (request id {request_id})."), status=500)
    from django.views.defaults import server_error

    return server_error(request)

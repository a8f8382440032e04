"""The failures services raise, one type per kind.

Services (and management commands) raise these without knowing about HTTP; the API maps each
to its status and error code in one place, `kraiter.api.errors.exception_handler`.
"""

from collections.abc import Mapping, Sequence


class ServiceError(Exception):
    code = "INTERNAL_ERROR"
    status = 500

    def __init__(self, message: str, *, details: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details) if details else None


class InvalidInput(ServiceError):
    """The request is malformed: a field, a query parameter, a cursor or an id."""

    code = "VALIDATION_ERROR"
    status = 400


class Forbidden(ServiceError):
    code = "FORBIDDEN"
    status = 403


class NotFound(ServiceError):
    code = "NOT_FOUND"
    status = 404


class Conflict(ServiceError):
    code = "CONFLICT"
    status = 409


class Unprocessable(ServiceError):
    """A valid request that the current state forbids (a suppressed contact, a paused sequence)."""

    code = "UNPROCESSABLE_ENTITY"
    status = 422

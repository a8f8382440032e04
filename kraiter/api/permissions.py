from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from kraiter.api.authentication import Principal


class HasOrganisation(BasePermission):
    """Every API view: the caller proved which organisation it acts for."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Principal)


class StaffSessionForWrites(BasePermission):
    """Reads with any credential; writes only from a staff session (a leaked key cannot mint more)."""

    message = (
        "Creating and revoking API keys needs a staff session (log in to the admin) "
        "or the createapikey management command; an API key cannot do it."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return isinstance(request.user, Principal) and request.user.is_staff_session

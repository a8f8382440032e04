"""Who is calling: an API key (programs) or a staff member's admin session (key management)."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from kraiter.models import ApiKey, Organisation, StaffMembership
from kraiter.services import api_key_authenticate
from kraiter.statements import checked_by_first_statement


@dataclass(frozen=True)
class Principal:
    """request.user for every API view: the organisation, and how the caller proved it."""

    organisation: Organisation
    api_key: ApiKey | None = None
    staff_user: AbstractBaseUser | None = None
    is_authenticated: bool = True

    @property
    def is_staff_session(self) -> bool:
        return self.staff_user is not None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != "bearer" or not raw_key.strip():
            raise AuthenticationFailed("The Authorization header must be 'Bearer <API key>'.")
        # The request's first statement, so it checks the connection in place of Django's health
        # check round trip (kraiter.statements): a read, safe to run again on a new connection.
        api_key = checked_by_first_statement(lambda: api_key_authenticate(raw_key=raw_key.strip()))
        if api_key is None:
            raise AuthenticationFailed("The API key is invalid or has been revoked.")
        return Principal(organisation=api_key.organisation, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class StaffSessionAuthentication(SessionAuthentication):
    """A logged-in staff user attached to an organisation (StaffMembership)."""

    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        result: Any = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not user.is_staff:
            return None
        membership = StaffMembership.objects.select_related("organisation").filter(user=user).first()
        if membership is None:
            return None
        return Principal(organisation=membership.organisation, staff_user=user), None

"""/api/tenant and /api/keys (docs/api.md 11)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from kraiter import services
from kraiter.api.authentication import ApiKeyAuthentication, StaffSessionAuthentication
from kraiter.api.ids import require_id
from kraiter.api.pagination import id_key, of_organisation
from kraiter.api.permissions import HasOrganisation, StaffSessionForWrites
from kraiter.api.schema import errors
from kraiter.api.views import PAGE_PARAMETERS, ApiViewSet, paginated
from kraiter.models import ApiKey
from kraiter.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    CreatedApiKeySerializer,
    SandboxAddressSerializer,
    SandboxWhitelistSerializer,
    TenantSerializer,
)


class TenantViewSet(ApiViewSet):
    @extend_schema(responses={200: TenantSerializer}, operation_id="tenant_get")
    def retrieve(self, request: Request) -> Response:
        return Response(TenantSerializer(self.organisation).data)

    @extend_schema(responses={200: SandboxWhitelistSerializer}, operation_id="tenant_sandbox_whitelist_get")
    def whitelist(self, request: Request) -> Response:
        """The addresses a tenant in sandbox mode may mail."""
        return Response(SandboxWhitelistSerializer(self.organisation).data)

    @extend_schema(
        request=SandboxAddressSerializer,
        responses={200: SandboxWhitelistSerializer},
        operation_id="tenant_sandbox_whitelist_add",
    )
    def whitelist_add(self, request: Request) -> Response:
        """Adds an address (at most 50; adding one already there changes nothing)."""
        body = SandboxAddressSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.sandbox_whitelist_add(organisation=self.organisation, email=body.validated_data["email"])
        return Response(SandboxWhitelistSerializer(self.organisation).data)

    @extend_schema(
        request=SandboxAddressSerializer,
        parameters=[
            OpenApiParameter(
                "email", str, required=True, description="The address to remove (a JSON body {email} is read too)."
            )
        ],
        responses={200: SandboxWhitelistSerializer, **errors(404)},
        operation_id="tenant_sandbox_whitelist_remove",
    )
    def whitelist_remove(self, request: Request) -> Response:
        """Removes an address; 404 when it is not on the whitelist."""
        data = request.data if request.data else {"email": request.query_params.get("email")}
        body = SandboxAddressSerializer(data=data)
        body.is_valid(raise_exception=True)
        services.sandbox_whitelist_remove(organisation=self.organisation, email=body.validated_data["email"])
        return Response(SandboxWhitelistSerializer(self.organisation).data)


class ApiKeyViewSet(ApiViewSet):
    authentication_classes = [ApiKeyAuthentication, StaffSessionAuthentication]
    permission_classes = [HasOrganisation, StaffSessionForWrites]

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: paginated(ApiKeySerializer)})
    def list(self, request: Request) -> Response:
        keys = of_organisation(ApiKey.objects.all(), self.organisation)
        return self.page(keys, ApiKeySerializer, keys=[id_key("key")])

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: CreatedApiKeySerializer, **errors(403)},
        description="Needs a staff session (admin login); an API key gets 403.",
    )
    def create(self, request: Request) -> Response:
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = services.api_key_create(organisation=self.organisation, name=body.validated_data["name"])
        data = {**ApiKeySerializer(created.api_key).data, "rawKey": created.raw_key}
        return Response(data, status=201)

    @extend_schema(responses={204: None, **errors(403)}, description="Needs a staff session; an API key gets 403.")
    def destroy(self, request: Request, pk: str) -> Response:
        services.api_key_revoke(organisation=self.organisation, key_id=require_id(pk, "key"))
        return Response(status=204)

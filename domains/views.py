"""/api/domains (docs/api.md 14): an organisation's sending domains."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from domains import selectors, services
from domains.serializers import DomainCreateSerializer, DomainSerializer
from kraiter.api.pagination import id_key
from kraiter.api.schema import errors
from kraiter.api.views import PAGE_PARAMETERS, ApiViewSet, paginated


class DomainViewSet(ApiViewSet):
    @extend_schema(request=DomainCreateSerializer, responses={201: DomainSerializer, **errors(409)})
    def create(self, request: Request) -> Response:
        """Adds a domain, pending until its DNS records are found."""
        body = DomainCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        domain = services.domain_add(organisation=self.organisation, name=body.validated_data["domain"])
        return Response(DomainSerializer(domain).data, status=201)

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: paginated(DomainSerializer)})
    def list(self, request: Request) -> Response:
        return self.page(selectors.domain_list(organisation=self.organisation), DomainSerializer, keys=[id_key("dom")])

    @extend_schema(responses={200: DomainSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(DomainSerializer(selectors.domain_get(organisation=self.organisation, domain_id=pk)).data)

    @extend_schema(request=None, responses={200: DomainSerializer})
    def verify(self, request: Request, pk: str) -> Response:
        """Checks the domain's records now (SES, or the local stand-in) and returns the result."""
        domain = selectors.domain_get(organisation=self.organisation, domain_id=pk)
        return Response(DomainSerializer(services.domain_verify(domain=domain)).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.domain_delete(domain=selectors.domain_get(organisation=self.organisation, domain_id=pk))
        return Response(status=204)

"""/api/contacts (docs/api.md 3). The /sends and /scheduled sub-lists live with the sends and
scheduling apps, which own those objects."""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contacts import selectors, services
from contacts.filters import ContactFilter, EventFilter
from contacts.serializers import (
    ContactCreateSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    EventCreateSerializer,
    EventSerializer,
)
from kraiter.api.pagination import id_key, timestamp_key
from kraiter.api.schema import errors
from kraiter.api.views import PAGE_PARAMETERS, ApiViewSet, paginated


class ContactViewSet(ApiViewSet):
    @extend_schema(
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("search", str, description="Case-insensitive substring of the email."),
            OpenApiParameter("suppressed", bool),
            OpenApiParameter("unsubscribed", bool),
        ],
        responses={200: paginated(ContactSerializer)},
    )
    def list(self, request: Request) -> Response:
        queryset, filters = self.filtered(ContactFilter, selectors.contact_list(organisation=self.organisation))
        return self.page(queryset, ContactSerializer, keys=[id_key("cnt")], filters=filters)

    @extend_schema(request=ContactCreateSerializer, responses={201: ContactSerializer, **errors(409)})
    def create(self, request: Request) -> Response:
        body = ContactCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact = services.contact_create(organisation=self.organisation, **body.validated_data)
        return Response(ContactSerializer(contact).data, status=201)

    @extend_schema(responses={200: ContactSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        contact = selectors.contact_get(organisation=self.organisation, contact_id=pk)
        return Response(ContactSerializer(contact).data)

    @extend_schema(request=ContactUpdateSerializer, responses={200: ContactSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        contact = selectors.contact_get(organisation=self.organisation, contact_id=pk)
        body = ContactUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, **body.validated_data)
        return Response(ContactSerializer(contact).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        contact = selectors.contact_get(organisation=self.organisation, contact_id=pk)
        services.contact_delete(contact=contact)
        return Response(status=204)


# Newest first by when it happened; the id breaks ties.
EVENT_ORDER = [timestamp_key("timestamp", "timestamp", descending=True), id_key("evt")]


class EventViewSet(ApiViewSet):
    @extend_schema(
        operation_id="events_list",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("contactId", str, description="One contact's events."),
            OpenApiParameter("email", str, description="The events of the contact with this address."),
            OpenApiParameter("name", str, description="Only events of this name (e.g. signed_up, email.opened)."),
            OpenApiParameter("from", str, description="Happened at or after (ISO 8601)."),
            OpenApiParameter("to", str, description="Happened before (ISO 8601)."),
        ],
        responses={200: paginated(EventSerializer)},
    )
    def list(self, request: Request) -> Response:
        """Custom and system events (`email.*`), newest first."""
        queryset, filters = self.filtered(EventFilter, selectors.event_list(organisation=self.organisation))
        # One contact's events (by id or address) are read from the contact's own index, in its
        # order: led by the organisation, the order would make PostgreSQL fetch and sort all of
        # the contact's events for every page (see BENCHMARKS.md, issue 13).
        within = "contact_id" if {"contactId", "email"} & filters.keys() else "organisation_id"
        return self.page(queryset, EventSerializer, keys=EVENT_ORDER, filters=filters, within=within)

    @extend_schema(operation_id="events_retrieve", responses={200: EventSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(EventSerializer(selectors.event_get(organisation=self.organisation, event_id=pk)).data)

    @extend_schema(request=EventCreateSerializer, responses={201: EventSerializer, **errors(404)})
    def create(self, request: Request) -> Response:
        """Records an event; every active sequence it triggers enrols the contact moments later."""
        body = EventCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            contact = services.contact_resolve(
                organisation=self.organisation, contact_id=data.get("contactId"), email=data.get("email")
            )
            event = services.event_create(
                organisation=self.organisation,
                contact=contact,
                name=data["name"],
                properties=data.get("properties"),
                timestamp=data.get("timestamp"),
            )
        return Response(EventSerializer(event).data, status=201)

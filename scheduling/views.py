"""/api/sequences, /api/scheduled and /api/contacts/:id/scheduled (docs/api.md 7 and 8; seed 002 in docs/seeds/)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.selectors import contact_get
from kraiter.api.pagination import CursorKey, id_key, parse_limit, timestamp_key
from kraiter.api.schema import errors
from kraiter.api.views import PAGE_PARAMETER_NAMES, PAGE_PARAMETERS, ApiViewSet, paginated
from scheduling import selectors, services
from scheduling.filters import EnrolmentFilter, ScheduledSendFilter, SequenceFilter
from scheduling.models import Enrolment
from scheduling.serializers import (
    EnrolmentSerializer,
    EnrolSerializer,
    ScheduledSendSerializer,
    SequencePutSerializer,
    SequenceSerializer,
    TimelineItemSerializer,
)
from scheduling.timeline import contact_timeline

SEQUENCE_ORDER = [
    timestamp_key("createdAt", "created_at", descending=True),
    CursorKey("id", "slug", True, str, lambda value: str(value)),
]
# Earliest first; the cursor holds both (docs/api.md 2).
SCHEDULED_ORDER = [timestamp_key("scheduledFor", "scheduled_for", descending=False), id_key("sch", descending=False)]


class SequenceViewSet(ApiViewSet):
    @extend_schema(
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("status", str, enum=["draft", "active", "paused"])],
        responses={200: paginated(SequenceSerializer)},
    )
    def list(self, request: Request) -> Response:
        queryset, filters = self.filtered(SequenceFilter, selectors.sequence_list(organisation=self.organisation))
        return self.page(queryset, SequenceSerializer, keys=SEQUENCE_ORDER, filters=filters)

    @extend_schema(responses={200: SequenceSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        sequence = selectors.sequence_get(organisation=self.organisation, sequence_id=pk)
        return Response(SequenceSerializer(sequence).data)

    @extend_schema(
        request=SequencePutSerializer,
        responses={200: SequenceSerializer, 201: SequenceSerializer},
        description="Creates (201, as draft) or replaces (200) a sequence. Errors name the step.",
    )
    def update(self, request: Request, pk: str) -> Response:
        data = self.upsert_body(SequencePutSerializer, selectors.require_sequence_id(pk))
        sequence, created = services.sequence_upsert(
            organisation=self.organisation,
            slug=pk,
            name=data["name"],
            definition=data["definition"],
            triggers=data.get("triggers"),
        )
        return Response(SequenceSerializer(sequence).data, status=201 if created else 200)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.sequence_delete(sequence=selectors.sequence_get(organisation=self.organisation, sequence_id=pk))
        return Response(status=204)

    @extend_schema(request=None, responses={200: SequenceSerializer, **errors(422)})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        sequence = selectors.sequence_get(organisation=self.organisation, sequence_id=pk)
        return Response(SequenceSerializer(services.sequence_activate(sequence=sequence)).data)

    @extend_schema(request=None, responses={200: SequenceSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        sequence = selectors.sequence_get(organisation=self.organisation, sequence_id=pk)
        return Response(SequenceSerializer(services.sequence_pause(sequence=sequence)).data)

    @extend_schema(request=EnrolSerializer, responses={201: EnrolmentSerializer, **errors(409, 422)})
    @action(detail=True, methods=["post"])
    def enrol(self, request: Request, pk: str) -> Response:
        sequence = selectors.sequence_get(organisation=self.organisation, sequence_id=pk)
        body = EnrolSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        enrolment = services.enrolment_create_for(
            sequence=sequence,
            contact_id=body.validated_data.get("contactId"),
            email=body.validated_data.get("email"),
        )
        return Response(EnrolmentSerializer(enrolment).data, status=201)


# Newest first.
ENROLMENT_ORDER = [id_key("enr")]


class EnrolmentViewSet(ApiViewSet):
    @extend_schema(
        operation_id="sequence_enrolments_list",
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("status", str, enum=list(Enrolment.Status.values))],
        responses={200: paginated(EnrolmentSerializer)},
    )
    def list(self, request: Request, pk: str) -> Response:
        """The sequence's enrolments, newest first."""
        sequence = selectors.sequence_get(organisation=self.organisation, sequence_id=pk)
        queryset = selectors.enrolment_list(organisation=self.organisation).filter(sequence=sequence)
        queryset, filters = self.filtered(EnrolmentFilter, queryset)
        return self.page(queryset, EnrolmentSerializer, keys=ENROLMENT_ORDER, filters=filters)

    @extend_schema(operation_id="sequence_enrolment_retrieve", responses={200: EnrolmentSerializer})
    def retrieve(self, request: Request, pk: str, enrolment_id: str) -> Response:
        """One of the sequence's enrolments."""
        return Response(EnrolmentSerializer(self._enrolment(pk, enrolment_id)).data)

    @extend_schema(operation_id="sequence_enrolment_exit", request=None, responses={200: EnrolmentSerializer})
    def exit(self, request: Request, pk: str, enrolment_id: str) -> Response:
        """Takes the contact out of the sequence: the enrolment ends `exited`, its pending email is
        cancelled. Ending one that has ended already changes nothing."""
        return Response(EnrolmentSerializer(self._exit(pk, enrolment_id)).data)

    @extend_schema(operation_id="sequence_enrolment_destroy", request=None, responses={200: EnrolmentSerializer})
    def destroy(self, request: Request, pk: str, enrolment_id: str) -> Response:
        """The same as POST .../exit: the enrolment is kept, ended `exited` (200 with it)."""
        return Response(EnrolmentSerializer(self._exit(pk, enrolment_id)).data)

    def _enrolment(self, pk: str, enrolment_id: str) -> Enrolment:
        sequence = selectors.sequence_get(organisation=self.organisation, sequence_id=pk)
        return selectors.enrolment_get(organisation=self.organisation, sequence=sequence, enrolment_id=enrolment_id)

    def _exit(self, pk: str, enrolment_id: str) -> Enrolment:
        enrolment = self._enrolment(pk, enrolment_id)
        services.enrolment_exit(enrolment=enrolment, reason="taken out through the API")
        enrolment.refresh_from_db()
        return enrolment


class ContactEnrolmentViewSet(ApiViewSet):
    @extend_schema(
        operation_id="contacts_enrolments_list",
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("status", str, enum=list(Enrolment.Status.values))],
        responses={200: paginated(EnrolmentSerializer)},
    )
    def list(self, request: Request, contact_id: str) -> Response:
        """The contact's enrolments in every sequence, newest first."""
        contact = contact_get(organisation=self.organisation, contact_id=contact_id)
        queryset = selectors.enrolment_list(organisation=self.organisation).filter(contact=contact)
        queryset, filters = self.filtered(EnrolmentFilter, queryset)
        return self.page(queryset, EnrolmentSerializer, keys=ENROLMENT_ORDER, filters=filters)


class ScheduledSendViewSet(ApiViewSet):
    @extend_schema(
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("status", str, enum=["pending", "cancelled"])],
        responses={200: paginated(ScheduledSendSerializer)},
    )
    def list(self, request: Request) -> Response:
        queryset, filters = self.filtered(
            ScheduledSendFilter, selectors.scheduled_send_list(organisation=self.organisation)
        )
        return self.page(queryset, ScheduledSendSerializer, keys=SCHEDULED_ORDER, filters=filters)

    @extend_schema(responses={200: ScheduledSendSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        scheduled = selectors.scheduled_send_get(organisation=self.organisation, scheduled_id=pk)
        return Response(ScheduledSendSerializer(scheduled).data)

    @extend_schema(responses={204: None}, description="Cancels the email; its enrolment ends as cancelled.")
    def destroy(self, request: Request, pk: str) -> Response:
        scheduled = selectors.scheduled_send_get(organisation=self.organisation, scheduled_id=pk)
        services.scheduled_send_cancel(scheduled=scheduled)
        return Response(status=204)


class ContactScheduledViewSet(ApiViewSet):
    @extend_schema(
        operation_id="contacts_scheduled_list",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(ScheduledSendSerializer)},
    )
    def list(self, request: Request, contact_id: str) -> Response:
        contact = contact_get(organisation=self.organisation, contact_id=contact_id)
        queryset = selectors.scheduled_send_list(organisation=self.organisation).filter(contact=contact)
        queryset, filters = self.filtered(ScheduledSendFilter, queryset)
        return self.page(queryset, ScheduledSendSerializer, keys=SCHEDULED_ORDER, filters=filters)


class ContactTimelineViewSet(ApiViewSet):
    @extend_schema(
        operation_id="contacts_timeline",
        parameters=PAGE_PARAMETERS,
        responses={200: paginated(TimelineItemSerializer)},
    )
    def list(self, request: Request, contact_id: str) -> Response:
        """The contact's sends, events, enrolment changes and opt-outs, newest first."""
        contact = contact_get(organisation=self.organisation, contact_id=contact_id)
        self.check_query_parameters(*PAGE_PARAMETER_NAMES)
        page = contact_timeline(
            contact=contact,
            limit=parse_limit(request.query_params.get("limit")),
            cursor=request.query_params.get("cursor"),
        )
        return Response({"data": page.items, "nextCursor": page.next_cursor})

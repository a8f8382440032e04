"""POST /api/send, GET /api/sends[/:id], GET /api/contacts/:id/sends (docs/api.md 5 and 6)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.selectors import contact_get
from domains.sender import SenderChoice, parse_from
from kraiter.api.errors import error_body
from kraiter.api.pagination import id_key
from kraiter.api.schema import ErrorSerializer, errors
from kraiter.api.views import PAGE_PARAMETERS, ApiViewSet, paginated
from sends import selectors, services
from sends.filters import ContactSendFilter, SendFilter
from sends.idempotency import StoredResponse, check_idempotency_key, request_fingerprint, run_idempotently
from sends.models import Send
from sends.serializers import SendAcceptedSerializer, SendCreateSerializer, SendDetailSerializer, SendSerializer

SEND_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=list(Send.Status.values)),
    OpenApiParameter("templateId", str),
    OpenApiParameter("source", str, enum=list(Send.Source.values)),
    OpenApiParameter("sourceId", str, description="The sequence id, for sequence sends."),
    OpenApiParameter("email", str, description="The recipient's address (case-insensitive)."),
]


class SendViewSet(ApiViewSet):
    @extend_schema(
        operation_id="send_create",
        request=SendCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Repeat a request safely for 24 hours: the original response is replayed.",
            )
        ],
        responses={
            201: SendAcceptedSerializer,
            **errors(403, 404, 409),
            422: OpenApiResponse(
                ErrorSerializer, description="The contact is suppressed or unsubscribed; a rejected send is recorded."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        body = SendCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        def send() -> StoredResponse:
            result = services.send_transactional(
                organisation=self.organisation,
                to=data["to"],
                template_id=data["templateId"],
                variables=data.get("variables", {}),
                ignore_unsubscribe=data["ignoreUnsubscribe"],
                sender=send_sender(data),
            )
            if result.status == Send.Status.REJECTED:
                return StoredResponse(422, error_body("UNPROCESSABLE_ENTITY", services.send_refusal_message(result)))
            return StoredResponse(201, dict(SendAcceptedSerializer(result).data))

        key = request.headers.get("Idempotency-Key")
        if key is None:
            response = send()
        else:
            response = run_idempotently(
                organisation=self.organisation,
                key=check_idempotency_key(key),
                fingerprint=request_fingerprint(request.data),
                action=send,
            )
        headers = {"Idempotent-Replayed": "true"} if response.replayed else {}
        return Response(response.body, status=response.status, headers=headers)


def send_sender(data: dict) -> SenderChoice | None:
    """The send's own `from` and `replyTo`, when it has them."""
    if "from" not in data and "replyTo" not in data:
        return None
    chosen = parse_from(data["from"]) if data.get("from") else SenderChoice()
    return SenderChoice(chosen.name, chosen.email, data.get("replyTo", ""))


class SendLogViewSet(ApiViewSet):
    @extend_schema(
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("contactId", str), *SEND_FILTER_PARAMETERS],
        responses={200: paginated(SendSerializer)},
    )
    def list(self, request: Request) -> Response:
        queryset, filters = self.filtered(SendFilter, selectors.send_list(organisation=self.organisation))
        return self.page(queryset, SendSerializer, keys=[id_key("snd")], filters=filters)

    @extend_schema(responses={200: SendDetailSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(SendDetailSerializer(selectors.send_get(organisation=self.organisation, send_id=pk)).data)


class ContactSendViewSet(ApiViewSet):
    @extend_schema(
        operation_id="contacts_sends_list",
        parameters=[*PAGE_PARAMETERS, *SEND_FILTER_PARAMETERS],
        responses={200: paginated(SendSerializer)},
    )
    def list(self, request: Request, contact_id: str) -> Response:
        contact = contact_get(organisation=self.organisation, contact_id=contact_id)
        queryset = selectors.send_list(organisation=self.organisation).filter(contact_id=contact.id)
        queryset, filters = self.filtered(ContactSendFilter, queryset)
        return self.page(queryset, SendSerializer, keys=[id_key("snd")], filters=filters)

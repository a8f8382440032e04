"""/api/templates (docs/api.md 4)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.selectors import contact_find_by_email, contact_get
from kraiter.api.pagination import CursorKey, timestamp_key
from kraiter.api.schema import errors
from kraiter.api.views import PAGE_PARAMETERS, ApiViewSet, paginated
from templates_app import selectors, services
from templates_app.rendering import Recipient, build_context, missing_variables, render_email
from templates_app.serializers import (
    TemplatePreviewResultSerializer,
    TemplatePreviewSerializer,
    TemplatePutSerializer,
    TemplateSerializer,
)

# Newest first; the slug breaks ties between templates created in the same millisecond.
TEMPLATE_ORDER = [
    timestamp_key("createdAt", "created_at", descending=True),
    CursorKey("id", "slug", True, str, lambda value: str(value)),
]


class TemplateViewSet(ApiViewSet):
    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: paginated(TemplateSerializer)})
    def list(self, request: Request) -> Response:
        return self.page(
            selectors.template_list(organisation=self.organisation), TemplateSerializer, keys=TEMPLATE_ORDER
        )

    @extend_schema(responses={200: TemplateSerializer})
    def retrieve(self, request: Request, pk: str) -> Response:
        template = selectors.template_get(organisation=self.organisation, template_id=pk)
        return Response(TemplateSerializer(template).data)

    @extend_schema(
        request=TemplatePutSerializer,
        responses={200: TemplateSerializer, 201: TemplateSerializer},
        description="Creates (201) or replaces (200) the template. Liquid and MJML errors are a 400 naming the line.",
    )
    def update(self, request: Request, pk: str) -> Response:
        data = self.upsert_body(TemplatePutSerializer, selectors.require_template_id(pk))
        template, created = services.template_upsert(
            organisation=self.organisation,
            slug=pk,
            data=services.TemplateInput(
                name=data["name"],
                subject=data["subject"],
                mjml=data.get("mjml"),
                html=data.get("html"),
                text=data.get("text"),
                variables=data.get("variables", []),
                from_name=data.get("fromName") or "",
                from_email=data.get("fromEmail") or "",
                reply_to=data.get("replyTo") or "",
            ),
        )
        return Response(TemplateSerializer(template).data, status=201 if created else 200)

    @extend_schema(responses={204: None, **errors(409)})
    def destroy(self, request: Request, pk: str) -> Response:
        template = selectors.template_get(organisation=self.organisation, template_id=pk)
        services.template_delete(template=template)
        return Response(status=204)

    @extend_schema(request=TemplatePreviewSerializer, responses={200: TemplatePreviewResultSerializer, **errors(422)})
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        """Renders the template as a send would, without sending or storing anything."""
        template = selectors.template_get(organisation=self.organisation, template_id=pk)
        body = TemplatePreviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        recipient = Recipient(email="preview@example.com")
        if "contactId" in data:
            recipient = Recipient.of(contact_get(organisation=self.organisation, contact_id=data["contactId"]))
        elif "email" in data:
            contact = contact_find_by_email(organisation=self.organisation, email=data["email"])
            recipient = Recipient.of(contact) if contact else Recipient(email=data["email"])
        variables = data.get("variables", {})
        rendered = render_email(template, recipient=recipient, variables=variables)
        context = build_context(recipient=recipient, variables=variables, send_id=None)
        return Response(
            {
                "subject": rendered.subject,
                "html": rendered.html,
                "text": rendered.text,
                "missingVariables": missing_variables(template, context),
            }
        )

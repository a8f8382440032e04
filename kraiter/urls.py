"""Every URL of the service: the API (one router), the admin, and the public pages."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from contacts.views import ContactViewSet, EventViewSet
from domains.views import DomainViewSet
from kraiter.api.errors import api_not_found, read_only
from kraiter.api.schema_view import SchemaView
from kraiter.pages import landing
from kraiter.views import ApiKeyViewSet, TenantViewSet
from metrics.dashboard import metrics_dashboard
from metrics.views import MetricsViewSet
from scheduling.views import (
    ContactEnrolmentViewSet,
    ContactScheduledViewSet,
    ContactTimelineViewSet,
    EnrolmentViewSet,
    ScheduledSendViewSet,
    SequenceViewSet,
)
from sends.engagement.tracking import click_redirect, open_pixel
from sends.engagement.unsubscribe import unsubscribe
from sends.engagement.webhook import SesWebhookView
from sends.views import ContactSendViewSet, SendLogViewSet, SendViewSet
from templates_app.views import TemplateViewSet

# Paths work with and without a trailing slash, as clients of the hosted API call them without.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("keys", ApiKeyViewSet, basename="key")
router.register("contacts", ContactViewSet, basename="contact")
router.register("templates", TemplateViewSet, basename="template")
router.register("sends", SendLogViewSet, basename="send")
router.register("sequences", SequenceViewSet, basename="sequence")
router.register("scheduled", ScheduledSendViewSet, basename="scheduled")

_public = {
    "authentication_classes": [],
    "permission_classes": [AllowAny],
    "content_negotiation_class": DefaultContentNegotiation,
}
schema_view = read_only(SchemaView.as_view(**_public))
docs_view = read_only(SpectacularSwaggerView.as_view(url_name="api-schema", **_public))

urlpatterns = [
    path("", landing, name="landing"),
    path("admin/metrics/", admin.site.admin_view(metrics_dashboard), name="metrics-dashboard"),
    path("admin/", admin.site.urls),
    path("webhooks/ses/", SesWebhookView.as_view(), name="ses-webhook"),
    path("t/o/<str:token>.gif", open_pixel, name="track-open"),
    path("t/c/<str:token>", click_redirect, name="track-click"),
    path("unsubscribe/<str:token>", unsubscribe, name="unsubscribe"),
    path("api/schema/", schema_view, name="api-schema"),
    path("api/docs/", docs_view, name="api-docs"),
    re_path(r"^api/tenant/?$", TenantViewSet.as_view({"get": "retrieve"}), name="tenant"),
    re_path(
        r"^api/tenant/sandbox-whitelist/?$",
        TenantViewSet.as_view({"get": "whitelist", "post": "whitelist_add", "delete": "whitelist_remove"}),
        name="tenant-sandbox-whitelist",
    ),
    re_path(r"^api/domains/?$", DomainViewSet.as_view({"get": "list", "post": "create"}), name="domains"),
    re_path(
        r"^api/domains/(?P<pk>[^/]+)/?$",
        DomainViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="domain",
    ),
    re_path(r"^api/domains/(?P<pk>[^/]+)/verify/?$", DomainViewSet.as_view({"post": "verify"}), name="domain-verify"),
    re_path(r"^api/send/?$", SendViewSet.as_view({"post": "create"}), name="send"),
    re_path(r"^api/events/?$", EventViewSet.as_view({"get": "list", "post": "create"}), name="events"),
    re_path(r"^api/events/(?P<pk>[^/]+)/?$", EventViewSet.as_view({"get": "retrieve"}), name="event"),
    re_path(r"^api/metrics/?$", MetricsViewSet.as_view({"get": "tenant"}), name="metrics"),
    re_path(
        r"^api/metrics/sequences/(?P<pk>[^/]+)/?$", MetricsViewSet.as_view({"get": "sequence"}), name="metrics-sequence"
    ),
    re_path(
        r"^api/metrics/templates/(?P<pk>[^/]+)/?$", MetricsViewSet.as_view({"get": "template"}), name="metrics-template"
    ),
    re_path(
        r"^api/contacts/(?P<contact_id>[^/]+)/scheduled/?$",
        ContactScheduledViewSet.as_view({"get": "list"}),
        name="contact-scheduled",
    ),
    re_path(
        r"^api/sequences/(?P<pk>[^/]+)/enrolments/?$",
        EnrolmentViewSet.as_view({"get": "list"}),
        name="sequence-enrolments",
    ),
    re_path(
        r"^api/sequences/(?P<pk>[^/]+)/enrolments/(?P<enrolment_id>[^/]+)/?$",
        EnrolmentViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="sequence-enrolment",
    ),
    re_path(
        r"^api/sequences/(?P<pk>[^/]+)/enrolments/(?P<enrolment_id>[^/]+)/exit/?$",
        EnrolmentViewSet.as_view({"post": "exit"}),
        name="sequence-enrolment-exit",
    ),
    re_path(
        r"^api/contacts/(?P<contact_id>[^/]+)/enrolments/?$",
        ContactEnrolmentViewSet.as_view({"get": "list"}),
        name="contact-enrolments",
    ),
    re_path(
        r"^api/contacts/(?P<contact_id>[^/]+)/timeline/?$",
        ContactTimelineViewSet.as_view({"get": "list"}),
        name="contact-timeline",
    ),
    re_path(
        r"^api/contacts/(?P<contact_id>[^/]+)/sends/?$",
        ContactSendViewSet.as_view({"get": "list"}),
        name="contact-sends",
    ),
    path("api/", include(router.urls)),
    re_path(r"^api/", api_not_found),
]

handler400 = "kraiter.api.errors.handler400"
handler404 = "kraiter.api.errors.handler404"
handler500 = "kraiter.api.errors.handler500"

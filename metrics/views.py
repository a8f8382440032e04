"""GET /api/metrics, /api/metrics/sequences/:id, /api/metrics/templates/:id (docs/api.md; seed 003 in docs/seeds/)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from kraiter.api.views import ApiViewSet
from metrics.queries import PERIOD_ALIASES, PERIODS, metrics_range, metrics_report
from metrics.serializers import MetricsSerializer
from scheduling.selectors import sequence_get
from sends.models import MetricRollup
from templates_app.selectors import template_get

METRICS_PARAMETERS = [
    OpenApiParameter(
        "period", str, enum=[*PERIODS, *PERIOD_ALIASES], description="Default day; hourly, daily, weekly, monthly too."
    ),
    OpenApiParameter("from", str, description="ISO 8601; default 30 periods before `to`."),
    OpenApiParameter("to", str, description="ISO 8601; default now."),
    OpenApiParameter("tz", str, description="IANA time zone the periods are counted in (default UTC)."),
]


class MetricsViewSet(ApiViewSet):
    @extend_schema(operation_id="metrics_tenant", parameters=METRICS_PARAMETERS, responses={200: MetricsSerializer})
    def tenant(self, request: Request) -> Response:
        return self._report(MetricRollup.Scope.ALL, "")

    @extend_schema(operation_id="metrics_sequence", parameters=METRICS_PARAMETERS, responses={200: MetricsSerializer})
    def sequence(self, request: Request, pk: str) -> Response:
        sequence_get(organisation=self.organisation, sequence_id=pk)
        return self._report(MetricRollup.Scope.SEQUENCE, pk)

    @extend_schema(operation_id="metrics_template", parameters=METRICS_PARAMETERS, responses={200: MetricsSerializer})
    def template(self, request: Request, pk: str) -> Response:
        template_get(organisation=self.organisation, template_id=pk)
        return self._report(MetricRollup.Scope.TEMPLATE, pk)

    def _report(self, scope: str, scope_id: str) -> Response:
        self.check_query_parameters("period", "from", "to", "tz")
        span = metrics_range(self.request.query_params)
        return Response(metrics_report(organisation=self.organisation, scope=scope, scope_id=scope_id, span=span))

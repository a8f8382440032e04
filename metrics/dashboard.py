"""The staff metrics page in the admin: the last 30 days per organisation, from the same query
as /api/metrics, so the chart and the API always show the same numbers."""

from collections.abc import Mapping
from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from kraiter.models import Organisation
from metrics.charts import line_chart
from metrics.queries import metrics_range, metrics_report
from sends.models import COUNTERS, MetricRollup

# The seed's derived rates: (name, numerator, denominator).
RATES = [
    ("Delivery rate", "delivered", "sent"),
    ("Open rate", "opened", "delivered"),
    ("Click rate", "clicked", "delivered"),
    ("Bounce rate", "bounced", "sent"),
    ("Complaint rate", "complained", "delivered"),
]


def organisation_summary(organisation: Organisation, *, days: int = 30) -> dict[str, Any]:
    span = metrics_range({"period": "day", "to": timezone.now().isoformat()})
    report = metrics_report(organisation=organisation, scope=MetricRollup.Scope.ALL, scope_id="", span=span)
    report["timeseries"] = report["timeseries"][-days:]
    totals = cast(Mapping[str, int], report["totals"])  # by counter name (RATES and COUNTERS are names)
    rates = [(name, _percent(totals[top], totals[bottom])) for name, top, bottom in RATES]
    labels = [point["timestamp"][5:10] for point in report["timeseries"]]
    points: list[Mapping[str, Any]] = list(report["timeseries"])
    series = {name: [point[name] for point in points] for name in COUNTERS}
    return {
        "report": report,
        "rates": rates,
        "chart": line_chart(series, labels),
        "today": report["timeseries"][-1] if report["timeseries"] else dict.fromkeys(COUNTERS, 0),
    }


def metrics_dashboard(request: HttpRequest) -> HttpResponse:
    organisations = list(Organisation.objects.order_by("name"))
    chosen = next((o for o in organisations if o.id == request.GET.get("organisation")), None)
    chosen = chosen or (organisations[0] if organisations else None)
    context = {
        **admin.site.each_context(request),
        "title": "Engagement, last 30 days",
        "organisations": organisations,
        "organisation": chosen,
        "counters": COUNTERS,
        **(organisation_summary(chosen) if chosen else {}),
    }
    return TemplateResponse(request, "admin/metrics/dashboard.html", context)


def _percent(top: int, bottom: int) -> str:
    return f"{100 * top / bottom:.1f}%" if bottom else "n/a"

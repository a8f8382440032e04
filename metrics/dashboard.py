"""The staff metrics page in the admin: any period, range, time zone, template or sequence, from
the same query as /api/metrics (so the chart, the CSV and the API always show the same numbers)."""

import csv
import io
from collections.abc import Mapping
from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.utils import timezone

from kraiter.errors import InvalidInput
from kraiter.models import Organisation
from metrics.charts import line_chart
from metrics.queries import PERIODS, MetricsRange, metrics_range, metrics_report
from scheduling.models import Sequence
from sends.models import COUNTERS, MetricRollup
from templates_app.models import Template

# The seed's derived rates: (name, numerator, denominator).
RATES = [
    ("Delivery rate", "delivered", "sent"),
    ("Open rate", "opened", "delivered"),
    ("Click rate", "clicked", "delivered"),
    ("Bounce rate", "bounced", "sent"),
    ("Complaint rate", "complained", "delivered"),
]
CONTROLS = ("period", "from", "to", "tz", "template", "sequence")


def organisation_summary(
    organisation: Organisation, *, span: MetricsRange | None = None, scope: str = "all", scope_id: str = ""
) -> dict[str, Any]:
    """Totals, rates and the chart of one organisation (the last 30 days by default)."""
    span = span or metrics_range({"period": "day", "to": timezone.now().isoformat()})
    report = metrics_report(organisation=organisation, scope=scope, scope_id=scope_id, span=span)
    totals = cast(Mapping[str, int], report["totals"])  # by counter name (RATES and COUNTERS are names)
    rates = [(name, _percent(totals[top], totals[bottom])) for name, top, bottom in RATES]
    labels = [_label(point["timestamp"], span.period) for point in report["timeseries"]]
    points: list[Mapping[str, Any]] = list(report["timeseries"])
    series = {name: [point[name] for point in points] for name in COUNTERS}
    return {
        "report": report,
        "rates": rates,
        "chart": line_chart(series, labels),
        "today": report["timeseries"][-1] if report["timeseries"] else dict.fromkeys(COUNTERS, 0),
    }


def metrics_dashboard(request: HttpRequest) -> HttpResponse:
    organisations = list(Organisation.objects.order_by("name")[:200])
    chosen = next((o for o in organisations if o.id == request.GET.get("organisation")), None)
    chosen = chosen or (organisations[0] if organisations else None)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Engagement",
        "organisations": organisations,
        "organisation": chosen,
        "counters": COUNTERS,
        "periods": PERIODS,
        "chosen": {name: request.GET.get(name, "") for name in CONTROLS},
    }
    if chosen is None:
        return TemplateResponse(request, "admin/metrics/dashboard.html", context)
    context["templates"] = Template.objects.filter(organisation=chosen).order_by("slug")[:200]
    context["sequences"] = Sequence.objects.filter(organisation=chosen).order_by("slug")[:200]
    scope, scope_id = _scope(request.GET)
    try:
        span = metrics_range(_range_params(request.GET))
    except InvalidInput as exc:
        context["error"] = exc.message
        return TemplateResponse(request, "admin/metrics/dashboard.html", context)
    summary = organisation_summary(chosen, span=span, scope=scope, scope_id=scope_id)
    if request.GET.get("format") == "csv":
        return _csv(summary["report"], chosen, scope_id)
    context.update(
        summary, scope_label=f"{scope} {scope_id}".strip(), zone=span.zone.key, csv_query=_csv_query(request)
    )
    return TemplateResponse(request, "admin/metrics/dashboard.html", context)


def _range_params(query: QueryDict) -> dict[str, str]:
    """The form's values as /api/metrics takes them; a bare date (from the date inputs) is midnight."""
    params = {name: query.get(name, "") for name in ("period", "from", "to", "tz")}
    for name in ("from", "to"):
        if params[name] and len(params[name]) == 10:
            params[name] += "T23:59:59.999Z" if name == "to" else "T00:00:00Z"
    return {name: value for name, value in params.items() if value}


def _scope(query: QueryDict) -> tuple[str, str]:
    if template := query.get("template"):
        return MetricRollup.Scope.TEMPLATE, template
    if sequence := query.get("sequence"):
        return MetricRollup.Scope.SEQUENCE, sequence
    return MetricRollup.Scope.ALL, ""


def _csv(report: dict[str, Any], organisation: Organisation, scope_id: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["timestamp", *COUNTERS])
    for point in report["timeseries"]:
        writer.writerow([point["timestamp"], *(point[name] for name in COUNTERS)])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = "-".join(part for part in ("metrics", organisation.name, scope_id, report["period"]) if part)
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


def _label(timestamp: str, period: str) -> str:
    return timestamp[5:16].replace("T", " ") if period == "hour" else timestamp[:10]


def _percent(top: int, bottom: int) -> str:
    return f"{100 * top / bottom:.1f}%" if bottom else "n/a"

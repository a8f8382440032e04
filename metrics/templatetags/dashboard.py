"""{% dashboard request %}: today's numbers, the 30-day chart, bounces, suppressions and the queue."""

from typing import Any

from django import template
from django.http import HttpRequest

from kraiter.admin_tools import OrganisationFilter
from kraiter.models import Organisation
from metrics.dashboard import organisation_summary
from metrics.health import organisation_health
from sends.models import COUNTERS

register = template.Library()


@register.inclusion_tag("admin/metrics/_front_page.html")
def dashboard(request: HttpRequest) -> dict[str, Any]:
    organisation_id = request.GET.get("organisation") or OrganisationFilter.default(request)
    organisation = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    if organisation is None:
        return {"organisation": None}
    return {
        "organisation": organisation,
        "organisations": Organisation.objects.order_by("name")[:200],
        "counters": COUNTERS,
        **organisation_summary(organisation),
        **organisation_health(organisation),
    }

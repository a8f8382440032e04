"""The one public page that is not an email link: what this service is, and where to go."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """`/` and the admin's "View site": a small page linking the API docs and the admin."""
    return render(request, "kraiter/landing.html", {"base": settings.PUBLIC_BASE_URL})

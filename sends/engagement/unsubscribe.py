"""/unsubscribe/<token>: a confirmation page (GET changes nothing) and RFC 8058 one-click POST."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.selectors import address_is_unsubscribed
from kraiter.links import read_unsubscribe_token
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, Send


@csrf_exempt  # RFC 8058: mail providers POST without a session or a CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Acts on the address the email was sent to, not on the contact row it was sent to: a
    contact deleted and created again with the same address is the one unsubscribed."""
    send_id = read_unsubscribe_token(token)
    if send_id is None:
        raise Http404
    send = Send.objects.filter(pk=send_id).select_related("organisation").only("organisation", "email").first()
    if send is None:
        raise Http404
    if request.method == "POST":
        engagement_record(EngagementFact(EngagementKind.UNSUBSCRIBED, timezone.now(), send_id=send.id))
        return render(request, "sends/unsubscribed.html", {"email": send.email})
    already = address_is_unsubscribed(organisation=send.organisation, email=send.email)
    return render(request, "sends/unsubscribe.html", {"email": send.email, "already": already})

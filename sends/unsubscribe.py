"""/unsubscribe/<token>: a confirmation page (GET changes nothing) and RFC 8058 one-click POST."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.models import Contact
from contacts.services import contact_unsubscribe
from kraiter.links import read_unsubscribe_token
from sends.models import Send


@csrf_exempt  # RFC 8058: mail providers POST without a session or a CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    send_id = read_unsubscribe_token(token)
    if send_id is None:
        raise Http404
    send = Send.objects.filter(pk=send_id).only("contact_id", "email").first()
    if send is None:
        raise Http404
    contact = Contact.objects.filter(pk=send.contact_id).first() if send.contact_id else None
    if request.method == "POST":
        if contact is not None:
            contact_unsubscribe(contact=contact)
        return render(request, "sends/unsubscribed.html", {"email": send.email})
    already = contact is None or contact.unsubscribed
    return render(request, "sends/unsubscribe.html", {"email": send.email, "already": already})

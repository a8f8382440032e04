"""Our own open and click tracking (works without SES's): /t/o/<token>.gif and /t/c/<token>.

Tokens are signed (kraiter.links); a tampered one is a 404 and never redirects anywhere.
"""

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache

from kraiter.links import read_click_token, read_open_token
from sends.engagement import EngagementEvent, engagement_record

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    send_id = read_open_token(token)
    if send_id is None:
        raise Http404
    _record(send_id, EngagementEvent("opened", timezone.now()))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
def click_redirect(request: HttpRequest, token: str) -> HttpResponse:
    bound = read_click_token(token)
    if bound is None or not bound[1].startswith(("https://", "http://")):
        raise Http404
    send_id, destination = bound
    _record(send_id, EngagementEvent("clicked", timezone.now(), detail=destination))
    return HttpResponseRedirect(destination)


def _record(send_id: str, event: EngagementEvent) -> None:
    engagement_record(send_id=send_id, event=event)  # a send deleted since is simply not there

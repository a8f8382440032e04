"""Our own open and click tracking (works without SES's): /t/o/<token>.gif and /t/c/<token>.

Tokens are signed (kraiter.links); a tampered one is a 404 and never redirects anywhere.
"""

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache

from kraiter.links import read_click_token, read_open_token
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    send_id = read_open_token(token)
    if send_id is None:
        raise Http404
    engagement_record(EngagementFact(EngagementKind.OPENED, timezone.now(), send_id=send_id))
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
def click_redirect(request: HttpRequest, token: str) -> HttpResponse:
    bound = read_click_token(token)
    if bound is None or not bound[1].startswith(("https://", "http://")):
        raise Http404
    send_id, destination = bound
    engagement_record(EngagementFact(EngagementKind.CLICKED, timezone.now(), send_id=send_id, url=destination))
    return HttpResponseRedirect(destination)

"""POST /webhooks/ses/: SES event notifications over SNS, through django-ses's view as designed.

1. The body is checked at the edge like every other (JSON, bounded nesting, storable text): a
   malformed one is a 400 in the error envelope.
2. django-ses verifies it through its two hooks, which we fill in (sends.engagement.sns):
   `verify_event_topic` (the topic is one of AWS_SNS_EVENT_TRUSTED_TOPIC_ARNS; checked first, so
   an untrusted topic costs no certificate fetch) and `verify_event_message` (complete, fresh,
   signed by SNS with SignatureVersion 1 or 2 and a certificate from an SNS host).
3. django-ses confirms subscriptions itself, and for each event type emits its signal;
   sends.engagement.receivers turns each into one call of `ses_notification_receive`. django-ses
   has no signal for Reject, Rendering Failure and DeliveryDelay: `handle_unknown_event_type`
   makes the same call.
A failure to apply is an exception, so SNS gets a 500 and retries (the notification is kept).
A notification costs two round trips to the database: its storing with the send's read and
lock, then its writes (kraiter.statements: BEGIN, COMMIT and the connection's check ride along).
"""

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django_ses.views import SESEventWebhookView

from kraiter.api.errors import error_body
from kraiter.statements import checked_by_first_statement
from kraiter.untrusted import UntrustedInput, loads
from sends.engagement.ses import Parsed, ses_body_parsed, ses_notification_message, ses_notification_receive
from sends.engagement.sns import UntrustedMessage, topic_is_trusted, verify_sns_message

logger = logging.getLogger("kraiter.sns")


@method_decorator(csrf_exempt, name="dispatch")
class SesWebhookView(SESEventWebhookView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        body = request.body
        parsed = _edge_check(body)
        if isinstance(parsed, str):
            return _bad_request(parsed)
        with ses_body_parsed(body, parsed):  # the receiver does not read it again
            # Applying a notification twice changes nothing, so a dead connection can be found by
            # the first statement (and the notification applied on a new one) instead of by a
            # health check's round trip before every notification.
            response: HttpResponse = checked_by_first_statement(
                lambda: super(SesWebhookView, self).post(request, *args, **kwargs)
            )
        if response.status_code == 400:  # django-ses's verification refusals, in our envelope
            return _bad_request(f"The notification was refused: {response.content.decode(errors='replace')}")
        return response

    def verify_event_topic(self, notification: dict[str, Any]) -> bool:
        return topic_is_trusted(notification)

    def verify_event_message(self, notification: dict[str, Any]) -> bool:
        if not topic_is_trusted(notification):
            return False  # no certificate is fetched for a topic we do not trust
        try:
            verify_sns_message(notification)
        except UntrustedMessage as exc:
            logger.warning("Refused SNS message %r: %s", notification.get("MessageId"), exc)
            return False
        return True

    def handle_unknown_event_type(self, notification: dict[str, Any], message: dict[str, Any]) -> None:
        """The event types django-ses has no signal for (Reject, Rendering Failure, DeliveryDelay)."""
        ses_notification_receive(record=notification, message=message)


def _edge_check(body: bytes) -> Parsed | str:
    """The notification in the body and the SES event in its Message ({} when there is none),
    both checked; or why they cannot be taken in."""
    try:
        notification = loads(body)
    except UntrustedInput as exc:
        return exc.describe("The body")
    except ValueError:
        return "The body is not JSON."
    if not isinstance(notification, dict):
        return "The body is not an SNS message."
    try:
        return notification, ses_notification_message(notification)
    except UntrustedInput as exc:
        return exc.describe("The Message")


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse(error_body("VALIDATION_ERROR", message), status=400)

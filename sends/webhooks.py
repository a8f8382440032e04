"""POST /webhooks/ses/: SES event notifications over SNS, through django-ses's view.

django-ses parses the notification and emits its signals (sends.receivers applies them). This
subclass adds what it leaves out: SNS signature versions 1 and 2 with a strict certificate
host, a trusted-topic list that fails closed, a one-hour freshness window, storing the raw
notification before anything is applied (2xx only once it is stored; a failure to apply is a
500 so SNS retries), and the Reject, Rendering Failure and DeliveryDelay events.
"""

import contextlib
import logging
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django_ses.views import SESEventWebhookView

from kraiter.api.errors import error_body
from kraiter.untrusted import UntrustedInput, loads
from sends.ses_events import (
    ses_event_type,
    ses_message_apply,
    ses_notification_mark,
    ses_notification_message,
    ses_notification_store,
)
from sends.sns import UntrustedMessage, verify_sns_message

logger = logging.getLogger("kraiter.sns")


@method_decorator(csrf_exempt, name="dispatch")
class SesWebhookView(SESEventWebhookView):
    _verified_signature: str | None = None

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            notification = loads(request.body)
        except UntrustedInput as exc:
            return _bad_request(exc.describe("The body"))
        except ValueError:
            return _bad_request("The body is not JSON.")
        if not isinstance(notification, dict):
            return _bad_request("The body is not an SNS message.")
        try:
            _check_message(notification)
        except UntrustedInput as exc:
            return _bad_request(exc.describe("The Message"))
        try:
            verify_sns_message(notification)
        except UntrustedMessage as exc:
            logger.warning("Refused SNS message %r: %s", notification.get("MessageId"), exc)
            return _bad_request("The message could not be verified.")
        self._verified_signature = notification.get("Signature")
        message = ses_notification_message(notification)
        # One transaction: the notification is stored, then applied inside a savepoint. If applying
        # fails, the savepoint is undone, the failure is written on the stored row, it commits, and
        # SNS gets a 500 and retries. If the process dies, nothing commits and SNS retries too.
        with transaction.atomic():
            stored = ses_notification_store(
                notification=notification,
                event_type=ses_event_type(message) if message else str(notification.get("Type", "")),
                ses_message_id=str((message.get("mail") or {}).get("messageId") or ""),
            )
            if stored is None:
                return HttpResponse()  # already stored and applied: a redelivery changes nothing
            try:
                with transaction.atomic():
                    response = super().post(request, *args, **kwargs)
            except Exception as exc:
                logger.exception("Could not apply SNS message %s; SNS will retry", stored.message_id)
                ses_notification_mark(stored=stored, error=f"{type(exc).__name__}: {exc}")
                failure = HttpResponse("Stored, not yet applied.", status=500)
            else:
                if stored.error:
                    ses_notification_mark(stored=stored)  # a retry of one that failed before
                return response
        return failure

    def verify_event_message(self, notification: dict[str, Any]) -> bool:
        # post() verified this very message (signature, certificate, age, topic) before storing it.
        return self._verified_signature is not None and notification.get("Signature") == self._verified_signature

    def verify_event_topic(self, notification: dict[str, Any]) -> bool:
        return self.verify_event_message(notification)

    def handle_unknown_event_type(self, notification: dict[str, Any], message: dict[str, Any]) -> None:
        """django-ses has no signal for Reject, Rendering Failure and DeliveryDelay: apply them here."""
        if not ses_message_apply(message):
            super().handle_unknown_event_type(notification, message)


def _check_message(notification: dict[str, Any]) -> None:
    """The SES event inside a notification (JSON in the Message string) passes the same checks as
    the body (nesting, storable text), before anything parses it further. A Message that is not
    JSON is left to the event handling, which ignores it."""
    message = notification.get("Message")
    if notification.get("Type") == "Notification" and isinstance(message, str):
        with contextlib.suppress(ValueError):
            loads(message)


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse(error_body("VALIDATION_ERROR", message), status=400)

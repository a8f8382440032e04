"""django-ses's signals, one per SES event type, each received by one call of the one service.

django-ses's view (sends.engagement.webhook) has verified the notification when it sends them;
`raw_message` is the notification as it arrived.
"""

from typing import Any

from django.dispatch import receiver
from django_ses import signals

from sends.engagement.ses import ses_notification_parse, ses_notification_receive

SES_SIGNALS = [
    signals.send_received,
    signals.delivery_received,
    signals.open_received,
    signals.click_received,
    signals.bounce_received,
    signals.complaint_received,
]


@receiver(SES_SIGNALS, dispatch_uid="kraiter-ses-notification")
def receive_ses_notification(sender: Any, raw_message: bytes, **kwargs: Any) -> None:
    notification, message = ses_notification_parse(raw_message)
    ses_notification_receive(record=notification, message=message)

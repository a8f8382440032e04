"""SES event records as Amazon SES publishes them to SNS (shapes from AWS's documented examples,
'Examples of event data that Amazon SES publishes to Amazon SNS'), for one of our sends."""

from typing import Any


def mail(message_id: str, send_id: str | None, recipient: str, timestamp: str) -> dict[str, Any]:
    tags: dict[str, list[str]] = {
        "ses:configuration-set": ["kraiter-events"],
        "ses:source-ip": ["192.0.2.0"],
        "ses:from-domain": ["example.com"],
        "ses:caller-identity": ["ses_user"],
    }
    if send_id:
        tags["send_id"] = [send_id]
        tags["template"] = ["welcome"]
    return {
        "timestamp": timestamp,
        "source": "Acme <no-reply@example.com>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [recipient],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Acme <no-reply@example.com>"},
            {"name": "To", "value": recipient},
            {"name": "Subject", "value": "Welcome!"},
            {"name": "MIME-Version", "value": "1.0"},
        ],
        "commonHeaders": {"from": ["Acme <no-reply@example.com>"], "to": [recipient], "subject": "Welcome!"},
        "tags": tags,
    }


def event(kind: str, *, message_id: str, send_id: str | None, recipient: str, at: str, **extra: Any) -> dict[str, Any]:
    """One SES event record of `kind` (Send, Delivery, Bounce, Complaint, Open, Click, Reject,
    Rendering Failure, DeliveryDelay)."""
    record: dict[str, Any] = {"eventType": kind, "mail": mail(message_id, send_id, recipient, at)}
    if kind == "Send":
        record["send"] = {}
    elif kind == "Delivery":
        record["delivery"] = {
            "timestamp": at,
            "processingTimeMillis": 546,
            "recipients": [recipient],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "mta.example.com",
        }
    elif kind == "Bounce":
        bounce_type = extra.get("bounce_type", "Permanent")
        record["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": recipient, "action": "failed", "status": "5.1.1",
                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
            ],
            "timestamp": at,
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com",
        }  # fmt: skip
    elif kind == "Complaint":
        record["complaint"] = {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": at,
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
            "complaintFeedbackType": "abuse",
            "arrivalDate": at,
        }
    elif kind == "Open":
        record["open"] = {"ipAddress": "192.0.2.1", "timestamp": at, "userAgent": "Mozilla/5.0 (iPhone)"}
    elif kind == "Click":
        record["click"] = {
            "ipAddress": "192.0.2.1",
            "link": "https://example.com/docs",
            "linkTags": {"samplekey0": ["samplevalue0"]},
            "timestamp": at,
            "userAgent": "Mozilla/5.0 (iPhone)",
        }
    elif kind == "Reject":
        record["reject"] = {"reason": "Bad content"}
    elif kind == "Rendering Failure":
        record["failure"] = {
            "errorMessage": "Attribute 'attributeName' is not present in the rendering data.",
            "templateName": "MyTemplate",
        }
    elif kind == "DeliveryDelay":
        record["deliveryDelay"] = {
            "timestamp": at,
            "delayType": "TransientCommunicationFailure",
            "expirationTime": at,
            "delayedRecipients": [
                {"emailAddress": recipient, "status": "4.4.1",
                 "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host"}
            ],
        }  # fmt: skip
    return record

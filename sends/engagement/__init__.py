"""The engagement side of sends: everything we learn about a send after it was created.

Start at `pipeline.py`: `engagement_record(fact)` is the one place every engagement fact is
written, with its consequences (the send's status and timestamps, the rollups, the contact's
suppression or opt-out, the `email.*` system event), in one transaction. Its docstring lists
where the facts come from. The rest of this package are those sources and what they need:

    ses.py, webhook.py, receivers.py   SES event notifications over SNS (/webhooks/ses/)
    sns.py                             is this SNS message really from our topic?
    tracking.py                        our open pixel and click redirect (/t/o/, /t/c/)
    unsubscribe.py                     /unsubscribe/<token>: the page and RFC 8058 one-click
    rollups.py                         the metrics' counts, kept exact, and their rebuild

Delivery (sends/delivery.py) reports SES accepting a message through the pipeline too.
"""

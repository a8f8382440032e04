"""What sends tells the apps that depend on it (metrics connects in its AppConfig.ready).

Sent explicitly by the sends services in the transaction that recorded the event, so a
receiver's writes (the metrics rollups) commit or roll back with it: a counted event is a
recorded event, exactly once.
"""

from django.dispatch import Signal

# A send's timestamp for `event` was set, or moved earlier by an event that arrived late.
# kwargs: send, event (sent, delivered, opened, clicked, bounced, complained), at, and
# previous_at (None the first time; else the bucket a count must move out of).
send_event_recorded = Signal()

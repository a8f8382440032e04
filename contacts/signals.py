"""What contacts tells the apps that depend on it (they connect in their AppConfig.ready).

Sent explicitly by contacts.services inside the transaction that made the change, so a receiver's
writes commit or roll back with it. This is how the dependency keeps pointing one way:
contacts never imports scheduling.
"""

from django.dispatch import Signal

# The contact may no longer be mailed (unsubscribed or suppressed). kwargs: contact, reason.
contact_opted_out = Signal()

"""What an event's name may be, for POST /api/events and sequence triggers alike."""

import re

EVENT_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
EVENT_NAME_RULE = "Must be 1-100 characters of letters, digits, '_', '.', ':' and '-'."

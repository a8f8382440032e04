"""A stored email made safe to look at: viewing it never records an open, a click or an unsubscribe.

What was sent holds our open pixel (/t/o/), click redirects (/t/c/) and unsubscribe links. Shown
as they are, the admin's preview would fetch the pixel (the send becomes "opened" because support
looked at it) and a click on a link inside would count as the recipient's. For display the pixel
becomes an inert data: image, each tracked link points straight at its destination (listed in
order, so the page can say which link was which) and unsubscribe links go nowhere.
"""

import re
from dataclasses import dataclass, field
from html import escape

from kraiter.links import read_click_token, read_open_token, read_unsubscribe_token

# Where a link of ours ends: its path and signed token (tokens are URL-safe base64 and ":").
_OUR_PATH = re.compile(r"/(t/o|t/c|unsubscribe)/([A-Za-z0-9_:\-]+)(\.gif)?")
# What may precede the path inside one URL; the URL starts after the last character not allowed.
_URL_STOP = set(" \t\r\n\"'<>=(")
_BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
_NOWHERE = "#unsubscribe-link-disabled-in-preview"


@dataclass
class DisplayEmail:
    html: str
    links: list[str] = field(default_factory=list)  # the destinations of tracked links, in order
    pixels_removed: int = 0


def email_for_display(html: str) -> DisplayEmail:
    """Our tracking URLs replaced by inert ones (one forward scan; a token that is not ours is kept)."""
    shown = DisplayEmail(html="")
    pieces: list[str] = []
    written = scanned = 0
    for match in _OUR_PATH.finditer(html):
        # Back to where this URL starts, never past the previous match: each character read once.
        start = _url_start(html, match.start(), scanned)
        scanned = match.end()
        if not html[start : match.start()].lower().startswith(("http://", "https://", "//")):
            continue
        replacement = _inert(match.group(1), match.group(2), shown)
        if replacement is None:
            continue
        pieces += [html[written:start], replacement]
        written = match.end()
    shown.html = "".join([*pieces, html[written:]])
    return shown


def _url_start(html: str, end: int, floor: int) -> int:
    position = end
    while position > floor and html[position - 1] not in _URL_STOP:
        position -= 1
    return position


def _inert(kind: str, token: str, shown: DisplayEmail) -> str | None:
    if kind == "t/o":
        if read_open_token(token) is None:
            return None
        shown.pixels_removed += 1
        return _BLANK_GIF
    if kind == "t/c":
        bound = read_click_token(token)
        if bound is None:
            return None
        shown.links.append(bound[1])
        return escape(bound[1])
    return _NOWHERE if read_unsubscribe_token(token) is not None else None

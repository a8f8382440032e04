"""A plain-text alternative derived from HTML, for templates that give none.

Reads the HTML with templates_app.markup (one pass, linear time, whatever the input). A link
still open when another starts is ended first, as browsers do (links cannot nest), so each
piece of text belongs to at most one link label and the whole pass stays linear.
"""

import re

from templates_app.markup import EndTag, StartTag, Text, tokens

_BLOCKS = frozenset("p div section article header footer table tr h1 h2 h3 h4 h5 h6 ul ol li blockquote pre hr".split())
_SKIPPED = frozenset({"head", "style", "script", "title"})
_WHITESPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextExtractor:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.skip_depth = 0
        self.link: tuple[str, int] | None = None  # href, index in parts where the link text starts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skip_depth += 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag not in ("li", "tr") else "\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self._end_link()
            self.link = (dict(attrs).get("href") or "", len(self.parts))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCKS and tag not in ("li", "tr"):  # items are separated by their start
            self.parts.append("\n\n")
        elif tag == "a":
            self._end_link()

    def _end_link(self) -> None:
        if self.link is None:
            return
        href, start = self.link
        self.link = None
        label = "".join(self.parts[start:]).strip()
        if href and not href.startswith(("#", "mailto:", "tel:")) and href != label:
            self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(_WHITESPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    for token in tokens(html):
        if isinstance(token, Text):
            extractor.handle_data(token.text)
        elif isinstance(token, StartTag):
            extractor.handle_starttag(token.name, token.attrs)
            if token.self_closing:  # as HTMLParser reports <br/>: a start and an end
                extractor.handle_endtag(token.name)
        elif isinstance(token, EndTag):
            extractor.handle_endtag(token.name)
    text = "".join(extractor.parts)
    lines = [line.strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()

"""HTML read in one pass, in time linear in its length: what the MJML structure check, the HTML
structure check and text derivation parse templates and rendered emails with.

Why not `html.parser`: on the Python this runs on (3.11), HTMLParser rescans the rest of the
document for every tag that never closes (13,000 x `<a ` take seconds, twice the input four times
as long) and raises AssertionError on some declarations (`<![`). This tokenizer commits to every
construct it starts, as browsers do: a tag or comment whose end never comes swallows the rest of
the document instead of being retried as text, so each character is looked at a bounded number of
times. Every regular expression here is possessive or matches a fixed string, so none backtracks.
For well-formed HTML it reports what HTMLParser reports: lower-cased names, attribute values
unquoted with character references resolved, script and style content as raw text.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

# Elements nested deeper than this, or more elements than this in one template, are refused
# before anything else parses the template (MRML, the MJML compiler, recurses per level and
# crashes the process at a few thousand levels; no real email comes near either limit).
MAX_DEPTH = 100
MAX_ELEMENTS = 10_000

RAW_TEXT_ELEMENTS = frozenset({"script", "style"})
VOID_ELEMENTS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# Elements a browser ends when another of the same kind starts (`<li>a<li>b`, `<tr><td>a<tr>`;
# links cannot nest), unless a list, table or select opened in between.
_SELF_ENDING = frozenset("a p li dt dd tr td th option".split())
_SCOPES = frozenset("table ul ol dl select".split())

_TAG_NAME = re.compile(r"[a-zA-Z][^\s/>]*+")
_SEPARATORS = re.compile(r"[\s/]*+")
_ATTRIBUTE = re.compile(r"""([^\s/>][^\s/>=]*+)(?:\s*+=\s*+("[^"]*+"?|'[^']*+'?|[^\s>]*+))?""")
_RAW_TEXT_END = {name: re.compile(rf"</{name}(?![^\s/>])", re.IGNORECASE) for name in RAW_TEXT_ELEMENTS}


@dataclass(frozen=True, slots=True)
class StartTag:
    name: str
    attrs: list[tuple[str, str | None]]
    self_closing: bool
    start: int


@dataclass(frozen=True, slots=True)
class EndTag:
    name: str
    start: int


@dataclass(frozen=True, slots=True)
class Text:
    text: str  # character references resolved (script and style content: as written)
    start: int


Token = StartTag | EndTag | Text


@dataclass(eq=False)
class MarkupError(Exception):
    """A template's markup that cannot be used: the line and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def tokens(html: str) -> Iterator[Token]:
    """The start tags, end tags and text of `html`, in order (comments and declarations are
    skipped). A construct cut off by the end of the document ends the document."""
    pos, n = 0, len(html)
    while pos < n:
        lt = html.find("<", pos)
        if lt < 0:
            yield Text(unescape(html[pos:]), pos)
            return
        if lt > pos:
            yield Text(unescape(html[pos:lt]), pos)
        following = html[lt + 1 : lt + 2]
        if following.isascii() and following.isalpha():
            tag, pos = _tag(html, lt, lt + 1, end=False)
            if tag is None:
                return
            yield tag
            if isinstance(tag, StartTag) and tag.name in RAW_TEXT_ELEMENTS and not tag.self_closing:
                closing = _RAW_TEXT_END[tag.name].search(html, pos)
                stop = closing.start() if closing else n
                if stop > pos:
                    yield Text(html[pos:stop], pos)
                pos = stop
        elif following == "/" and html[lt + 2 : lt + 3].isascii() and html[lt + 2 : lt + 3].isalpha():
            tag, pos = _tag(html, lt, lt + 2, end=True)
            if tag is None:
                return
            yield tag
        elif html.startswith("<!--", lt):
            pos = _skip_past(html, "-->", lt + 4)
        elif html.startswith("<![CDATA[", lt):
            pos = _skip_past(html, "]]>", lt + 9)
        elif following in ("!", "?", "/"):  # a declaration, a processing instruction, `</>`
            pos = _skip_past(html, ">", lt + 2)
        else:
            yield Text("<", lt)
            pos = lt + 1


def _skip_past(html: str, terminator: str, start: int) -> int:
    end = html.find(terminator, start)
    return len(html) if end < 0 else end + len(terminator)


def _tag(html: str, lt: int, name_start: int, *, end: bool) -> tuple[StartTag | EndTag | None, int]:
    """The tag opened at `lt`, and the position after its `>`; (None, len) when the document ends
    inside it. Attributes are read (quotes respected) to find the real `>`."""
    name_match = _TAG_NAME.match(html, name_start)
    assert name_match is not None  # the caller saw a letter
    name = name_match.group().lower()
    attrs: list[tuple[str, str | None]] = []
    pos, n = name_match.end(), len(html)
    while True:
        separators_start = pos
        separators = _SEPARATORS.match(html, pos)
        pos = separators.end() if separators else pos
        if pos >= n:
            return None, n
        if html[pos] == ">":
            if end:
                return EndTag(name, lt), pos + 1
            self_closing = pos > separators_start and html[pos - 1] == "/"
            return StartTag(name, attrs, self_closing, lt), pos + 1
        attribute = _ATTRIBUTE.match(html, pos)
        assert attribute is not None  # html[pos] is not a separator nor ">"
        pos = attribute.end()
        attrs.append((attribute.group(1).lower(), _attribute_value(attribute.group(2))))


def _attribute_value(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw[:1] in ("'", '"'):
        raw = raw[1:-1] if len(raw) > 1 and raw[-1] == raw[0] else raw[1:]
    return unescape(raw)


class LineCounter:
    """Line numbers of positions visited in increasing order, in linear time overall."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.line = 1

    def at(self, position: int) -> int:
        if position < self.position:  # not expected; stay correct anyway
            self.position, self.line = 0, 1
        self.line += self.text.count("\n", self.position, position)
        self.position = position
        return self.line


class NestingCheck:
    """Counts a document's elements and how deeply they nest, as a browser would nest them
    (void and self-closing elements hold nothing; an end tag closes up to its element; `<p>`
    and `<li>` end a preceding one). Raises MarkupError past MAX_DEPTH or MAX_ELEMENTS."""

    def __init__(self, source: str) -> None:
        self.lines = LineCounter(source)
        self.open: list[str] = []
        self.elements = 0

    def start(self, tag: StartTag) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise MarkupError(self.lines.at(tag.start), f"more than {MAX_ELEMENTS:,} elements")
        if tag.self_closing or tag.name in VOID_ELEMENTS:
            return
        if tag.name in _SELF_ENDING:
            self._close(tag.name, scopes=_SCOPES)
        self.open.append(tag.name)
        if len(self.open) > MAX_DEPTH:
            raise MarkupError(self.lines.at(tag.start), f"elements are nested more than {MAX_DEPTH} deep")

    def end(self, tag: EndTag) -> None:
        self._close(tag.name, scopes=frozenset())

    def _close(self, name: str, *, scopes: frozenset[str]) -> None:
        """Ends the innermost open `name` and what it holds, unless one of `scopes` is nearer.
        The stack is at most MAX_DEPTH long, so the search is bounded."""
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index] == name:
                del self.open[index:]
                return
            if self.open[index] in scopes:
                return


def check_nesting(html: str) -> None:
    """MarkupError when `html` nests elements too deeply or has too many of them."""
    check = NestingCheck(html)
    for token in tokens(html):
        if isinstance(token, StartTag):
            check.start(token)
        elif isinstance(token, EndTag):
            check.end(token)

"""MJML to HTML with MRML (mjml-python), and errors that name a line.

MRML is fast but tolerant and terse: it accepts unknown elements and mismatched closing tags
inside some components, and its errors carry no position. It also recurses once per level of
nesting and, a few thousand levels deep, overflows the stack and kills the process (SIGSEGV, not
an exception). So a structural pass over the source runs first (templates_app.markup: one linear
pass): balanced, known mj-* elements, no stray HTML between them, and at most MAX_DEPTH levels
and MAX_ELEMENTS elements, counting the HTML inside content elements. It finds most mistakes and
says where; only a document that passes it reaches MRML.
"""

from dataclasses import dataclass

import mjml as mrml

from templates_app.markup import EndTag, LineCounter, MarkupError, NestingCheck, StartTag, tokens

KNOWN_ELEMENTS = frozenset(
    """mjml mj-head mj-body mj-attributes mj-all mj-class mj-breakpoint mj-font mj-html-attributes
    mj-html-attribute mj-selector mj-preview mj-style mj-title mj-accordion mj-accordion-element
    mj-accordion-title mj-accordion-text mj-button mj-carousel mj-carousel-image mj-column mj-divider
    mj-group mj-hero mj-image mj-navbar mj-navbar-link mj-raw mj-section mj-social mj-social-element
    mj-spacer mj-table mj-text mj-wrapper""".split()
)
# Elements whose content is HTML or text, not more MJML.
CONTENT_ELEMENTS = frozenset(
    """mj-text mj-button mj-raw mj-table mj-navbar-link mj-accordion-title mj-accordion-text
    mj-social-element mj-style mj-title mj-preview mj-html-attribute mj-font mj-breakpoint""".split()
)


@dataclass(eq=False)
class MjmlError(MarkupError):
    pass


class _StructureCheck:
    def __init__(self, source: str) -> None:
        self.lines = LineCounter(source)
        self.nesting = NestingCheck(source)
        self.stack: list[tuple[str, int]] = []
        self.content_depth = 0  # > 0 while inside a content element
        self.position = 0

    def _line(self) -> int:
        return self.lines.at(self.position)

    def feed(self, source: str) -> None:
        try:
            for token in tokens(source):
                self.position = token.start
                if isinstance(token, StartTag):
                    self.nesting.start(token)
                    self._open(token.name, self_closing=token.self_closing)
                elif isinstance(token, EndTag):
                    self.nesting.end(token)
                    self.handle_endtag(token.name)
        except MjmlError:
            raise
        except MarkupError as exc:
            raise MjmlError(exc.line, exc.reason) from None

    def _open(self, tag: str, *, self_closing: bool) -> None:
        if self.content_depth:
            if tag == self.stack[-1][0] and not self_closing:
                self.content_depth += 1
            return
        if not self.stack and tag != "mjml":
            raise MjmlError(self._line(), f"the document must start with <mjml>, not <{tag}>")
        if tag not in KNOWN_ELEMENTS:
            if tag.startswith("mj-"):
                raise MjmlError(self._line(), f"<{tag}> is not an MJML element")
            raise MjmlError(self._line(), f"<{tag}> is HTML; put HTML inside <mj-text> or <mj-raw>")
        if self_closing:
            return
        self.stack.append((tag, self._line()))
        if tag in CONTENT_ELEMENTS:
            self.content_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.content_depth:
            if tag != self.stack[-1][0]:
                return
            self.content_depth -= 1
            if self.content_depth:
                return
        if not self.stack:
            raise MjmlError(self._line(), f"</{tag}> closes nothing")
        open_tag, opened_on = self.stack[-1]
        if tag != open_tag:
            raise MjmlError(
                self._line(), f"</{tag}> found where </{open_tag}> (opened on line {opened_on}) was expected"
            )
        self.stack.pop()

    def finish(self) -> None:
        if self.stack:
            tag, opened_on = self.stack[-1]
            raise MjmlError(opened_on, f"<{tag}> is never closed")


def compile_mjml(source: str) -> str:
    """The HTML for an MJML document; MjmlError with the line and the reason when it is not valid."""
    if "<mjml" not in source:
        raise MjmlError(1, "an MJML document starts with <mjml>")
    check = _StructureCheck(source)
    check.feed(source)
    check.finish()
    if "<mj-body" not in source:
        raise MjmlError(1, "<mjml> needs an <mj-body>")
    try:
        return mrml.mjml2html(source, disable_comments=True)
    except ValueError as exc:
        raise MjmlError(1, f"MJML could not be compiled: {exc}") from None

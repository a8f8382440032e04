"""The one place a template becomes an email: Liquid, MJML, and tracking links.

Every sender (POST /api/send, the sequence dispatcher, previews) calls `render_email`.
Templates run in a sandboxed Liquid environment: no file system (no include/render), bounded
loops, bounded output, local variables and filters (templates_app.liquid_limits). A missing
variable renders as an empty string. The HTML body escapes variable values; subject and text do
not (they are not HTML).

Every pass over a client's template or a rendered email takes time linear in its length: the
markup is read by templates_app.markup's one-pass tokenizer, links are found by a forward scan,
and no regular expression here can backtrack. A rendered email is at most MAX_EMAIL_BYTES.
"""

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import unescape as html_unescape
from typing import Any, Protocol

from django.conf import settings
from django.utils.html import escape
from liquid import BoundTemplate, Environment
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.output import OutputNode
from liquid.exceptions import LiquidError
from liquid.stringify import to_liquid_string

from kraiter.errors import Unprocessable
from kraiter.links import click_url, open_pixel_url, unsubscribe_url
from kraiter.untrusted import text_problem, unstorable_at
from templates_app.liquid_limits import MAX_TEXT, check_liquid_markup, guard_filters
from templates_app.markup import MarkupError, check_nesting
from templates_app.mjml import compile_mjml
from templates_app.text import html_to_text

MAX_SUBJECT_LENGTH = 998
MAX_BODY_BYTES = 512 * 1024
# The rendered HTML and text of one email together, in UTF-8. Mail clients clip far smaller
# messages; this bounds what one request renders, stores and hands to SES.
MAX_EMAIL_BYTES = 2 * 1024 * 1024
# Names the renderer provides; a send's variables cannot shadow them.
RESERVED_NAMES = ("contact", "variables", "unsubscribeUrl")


class _Sandbox(Environment):
    loop_iteration_limit = 10_000
    local_namespace_limit = 1_000_000
    output_stream_limit = MAX_TEXT
    context_depth_limit = 30

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        self.filters = guard_filters(self.filters)


_HTML_ENV = _Sandbox(autoescape=True)
_PLAIN_ENV = _Sandbox()
_FORBIDDEN_TAGS = ("include", "render")


class TemplateSource(Protocol):
    """What rendering needs of a template (the Template model has it; text_template is optional)."""

    subject: str
    html: str
    text: str | None


@dataclass(frozen=True)
class Recipient:
    email: str
    contact_id: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, contact: Any) -> "Recipient":
        """The recipient for a contact (anything with id, email and properties)."""
        return cls(email=contact.email, contact_id=contact.id, properties=contact.properties or {})


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


class TemplateError(Unprocessable):
    """A template that cannot be used: where (part and line) and why. Raised while rendering,
    it is a 422 (the template is valid but these variables hit a sandbox limit); at PUT time
    the template service turns it into a 400."""

    def __init__(self, part: str, line: int, reason: str) -> None:
        super().__init__(f"The template's {part} could not be rendered (line {line}): {reason}")
        self.part = part
        self.line = line
        self.reason = reason


class EmailTooLarge(TemplateError):
    """The rendered email is larger than MAX_EMAIL_BYTES: a 400 where a request renders it (these
    variables make this template too large to send); the dispatcher, which records a send as
    rejected on any TemplateError, records it with this message."""

    code = "VALIDATION_ERROR"
    status = 400

    def __init__(self, size: int) -> None:
        reason = f"the rendered email is {size:,} bytes (HTML and text); at most {MAX_EMAIL_BYTES:,} bytes are allowed"
        super().__init__("email", 1, reason)
        self.size = size
        self.message = f"The email is too large to send: {reason}."
        self.args = (self.message,)


@dataclass(frozen=True)
class CheckedSource:
    html: str  # the HTML body as stored: the client's, or compiled from MJML
    text_template: str | None  # the text part derived from it, when the client gave none


def check_template_source(*, subject: str, mjml: str | None, html: str | None, text: str | None) -> CheckedSource:
    """Validates a template at PUT time; TemplateError says which part, which line and why."""
    if "\n" in subject or "\r" in subject:
        raise TemplateError("subject", 1, "the subject must be a single line")
    body_part, body = ("mjml", mjml) if mjml is not None else ("html", html or "")
    for part, source in (("subject", subject), (body_part, body), ("text", text or "")):
        if problem := text_problem(source):  # the API's parser refuses these already; commands do not
            raise TemplateError(part, source.count("\n", 0, unstorable_at(source)) + 1, problem)
    for part, source in ((body_part, body), ("text", text or "")):
        if len(source.encode()) > MAX_BODY_BYTES:
            raise TemplateError(part, 1, f"larger than {MAX_BODY_BYTES // 1024} KB")
    try:  # the structure is bounded before MRML (or anything else) parses the body
        body = compile_mjml(mjml) if mjml is not None else body
        if mjml is None:
            check_nesting(body)
    except MarkupError as exc:
        raise TemplateError(body_part, exc.line, exc.reason) from None
    compiled_size = len(body.encode())
    if compiled_size > MAX_EMAIL_BYTES:
        reason = f"it makes {compiled_size:,} bytes of HTML; an email may have at most {MAX_EMAIL_BYTES:,}"
        raise TemplateError(body_part, 1, reason)
    _check_liquid("subject", subject, _PLAIN_ENV)
    if mjml is not None:
        _check_liquid("mjml", mjml, _HTML_ENV)  # lines as the client wrote them
    _check_liquid(body_part, body, _HTML_ENV)  # what will really be rendered
    if text is not None:
        _check_liquid("text", text, _PLAIN_ENV)
    return CheckedSource(html=body, text_template=None if text is not None else _derived_text_template(body))


def _derived_text_template(html: str) -> str | None:
    derived = html_to_text(html)
    try:
        _parse(_PLAIN_ENV, derived)
    except LiquidError:
        return None  # e.g. markup inside a Liquid string: derive from each rendered email instead
    return derived


def render_email(
    template: TemplateSource,
    *,
    recipient: Recipient,
    variables: Mapping[str, Any] | None = None,
    send_id: str | None = None,
) -> RenderedEmail:
    """Subject, HTML and text for one recipient. TemplateError when a sandbox limit is hit."""
    context = build_context(recipient=recipient, variables=variables or {}, send_id=send_id)
    subject = _render("subject", template.subject, _PLAIN_ENV, context)
    html = _render("html", template.html, _HTML_ENV, context)
    _check_email_size(subject, html)  # before deriving text from an HTML part already too large
    text_source = template.text or getattr(template, "text_template", None)
    text = _render("text", text_source, _PLAIN_ENV, context) if text_source else html_to_text(html)
    _check_email_size(subject, html, text)
    if send_id and settings.TRACKING_ENABLED:
        html = add_tracking(html, send_id)
    return RenderedEmail(subject=_one_line(subject), html=html, text=text)


def _check_email_size(*parts: str) -> None:
    size = sum(len(part.encode()) for part in parts)
    if size > MAX_EMAIL_BYTES:
        raise EmailTooLarge(size)


# Where a link's opening tag may start: "<a" and then a space, "/" or ">" (case-insensitive).
_LINK_START = re.compile(r"<a(?=[\s/>])", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s/]*+")
# One attribute: its name, then optionally "=" and a value, "double" (groups 2, 3), 'single'
# (4, 5) or bare. Possessive: a value whose closing quote never comes is read to the end of the
# document once, and the scan ends there, instead of being read again from every later "<a".
_ATTRIBUTE = re.compile(r"""([^\s/>][^\s/>=]*+)(?:\s*+=\s*+(?:"([^"]*+)("?)|'([^']*+)('?)|[^\s>]*+))?""")


def add_tracking(html: str, send_id: str) -> str:
    """Rewrites http(s) links through the signed click redirect and adds the open pixel.
    mailto:, tel:, #anchors and our own links (unsubscribe) are left alone.

    Links are found by one forward scan: each `<a ...>` tag's attributes are read up to its real
    `>` (quotes respected) and the scan goes on after it, so each character is read once (the
    regular expression this replaces read to the next `>` from every `<a`: 13,333 x `<a ` took
    9 s). Only the quoted value of a link's first `href` is replaced; everything else is kept byte
    for byte. `<a` inside comments (Outlook's conditional ones) counts, as it always has."""
    own = f"{settings.PUBLIC_BASE_URL}/"
    pieces: list[str] = []
    written = position = 0
    while (start := _LINK_START.search(html, position)) is not None:
        href, position = _link_href(html, start.end())
        if href is None:
            continue
        value = html_unescape(html[href[0] : href[1]]).strip()
        if not value.lower().startswith(("http://", "https://")) or value.startswith(own):
            continue
        pieces += [html[written : href[0]], escape(click_url(send_id, value))]
        written = href[1]
    html = "".join([*pieces, html[written:]])
    pixel = (
        f'<img src="{escape(open_pixel_url(send_id))}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0">'
    )
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + pixel
    return html[: ends[-1].start()] + pixel + html[ends[-1].start() :]


def _link_href(html: str, position: int) -> tuple[tuple[int, int] | None, int]:
    """For the tag whose attributes start at `position`: the span of its first `href`'s value
    (None when it has none, or an unquoted or unclosed one), and the position after its `>`."""
    href: tuple[int, int] | None = None
    seen_href = False
    while True:
        separators = _SEPARATORS.match(html, position)
        position = separators.end() if separators else position
        if position >= len(html) or html[position] == ">":
            return href, position + 1
        attribute = _ATTRIBUTE.match(html, position)
        if attribute is None:  # cannot happen: any character but a separator or ">" starts a name
            return href, len(html)
        if not seen_href and attribute.group(1).lower() == "href":
            seen_href = True
            for value, closing in ((2, 3), (4, 5)):
                if attribute.group(closing):
                    href = attribute.span(value)
        position = attribute.end()


def build_context(*, recipient: Recipient, variables: Mapping[str, Any], send_id: str | None) -> dict[str, Any]:
    """The Liquid context, the same everywhere (docs/api.md 4): variables at top level, falling back to
    contact properties of the same name; `variables.*`, `contact.*` and `unsubscribeUrl`."""
    context: dict[str, Any] = {**recipient.properties, **variables}
    context.update(
        contact={"id": recipient.contact_id, "email": recipient.email, "properties": dict(recipient.properties)},
        variables=dict(variables),
        unsubscribeUrl=unsubscribe_url(send_id) if send_id else "",
    )
    return context


def missing_variables(template: TemplateSource, context: Mapping[str, Any]) -> list[str]:
    """Variables the template reads that the context does not provide (shown by previews)."""
    missing: set[str] = set()
    for source, env in ((template.subject, _PLAIN_ENV), (template.html, _HTML_ENV), (template.text, _PLAIN_ENV)):
        if not source:
            continue
        for name, references in _parse(env, source).analyze(include_partials=False).globals.items():
            for reference in references:
                path = [s for s in reference.segments if isinstance(s, (str, int))]
                if not _resolves(context, path):
                    missing.add(str(reference) if path else name)
    return sorted(missing)


def _resolves(context: Mapping[str, Any], path: Iterable[str | int]) -> bool:
    value: Any = context
    for segment in path:
        if isinstance(value, Mapping) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and isinstance(segment, int) and -len(value) <= segment < len(value):
            value = value[segment]
        else:
            return False
    return True


def _check_liquid(part: str, source: str, env: Environment) -> None:
    try:
        template = _parse(env, source)
        analysis = template.analyze(include_partials=False)
        for tag in _FORBIDDEN_TAGS:
            if tag in analysis.tags:
                line = analysis.tags[tag][0].line_col(source)[0]
                raise TemplateError(part, line, f"the '{tag}' tag is not available (templates cannot load files)")
        for name, spans in analysis.filters.items():
            if name not in env.filters:
                raise TemplateError(part, spans[0].line_col(source)[0], f"unknown filter '{name}'")
        # A trial render with no variables finds loops that never end and other limits.
        template.render()
    except LiquidError as exc:
        raise _liquid_error(part, source, exc) from None


def _render(part: str, source: str | None, env: Environment, context: Mapping[str, Any]) -> str:
    if not source:
        return ""
    try:
        pieces = _text_and_outputs(env, source)
        filled = _fill(pieces, context, env.autoescape) if pieces is not None else None
        return filled if filled is not None else _parse(env, source).render(**context)
    except LiquidError as exc:
        raise _liquid_error(part, source, exc) from None


_SPECIAL_SEGMENTS = frozenset({"size", "first", "last"})  # Liquid's own properties of a value


@functools.lru_cache(maxsize=512)
def _text_and_outputs(env: Environment, source: str) -> tuple[str | tuple[str, ...], ...] | None:
    """A template that is only text and plain outputs (`{{ firstName }}`, `{{ contact.email }}`:
    no tags, no filters), as its pieces from Liquid's own parse (whitespace control applied):
    text as str, an output as its path. None for anything else. Most emails are this, and
    `_fill` renders them without Liquid's render machinery (a third of a dispatcher's send)."""
    template = _parse(env, source)
    if template.matter or template.globals:
        return None
    pieces: list[str | tuple[str, ...]] = []
    for node in template.nodes:
        if type(node) is ContentNode:
            pieces.append(node.text)
            continue
        expression = getattr(node, "expression", None)
        if not (type(node) is OutputNode and type(expression) is FilteredExpression and not expression.filters):
            return None
        path = expression.left.path if type(expression.left) is Path else None
        if not path or not all(type(segment) is str and segment not in _SPECIAL_SEGMENTS for segment in path):
            return None
        pieces.append(tuple(str(segment) for segment in path))  # (each a str: checked above)
    return tuple(pieces)


def _fill(pieces: tuple[str | tuple[str, ...], ...], context: Mapping[str, Any], autoescape: bool) -> str | None:
    """What Liquid renders for `_text_and_outputs`' pieces, each value stringified and escaped
    by Liquid's own `to_liquid_string`; None (render with Liquid) when a path does not resolve
    to a value of the context (Liquid's undefined), or the output passes the sandbox's limit."""
    out: list[str] = []
    for piece in pieces:
        if type(piece) is str:
            out.append(piece)
            continue
        value: Any = context
        for segment in piece:
            if not isinstance(value, dict) or segment not in value:
                return None
            value = value[segment]
        out.append(to_liquid_string(value, autoescape))
    text = "".join(out)
    return text if len(text) <= MAX_TEXT else None


@functools.lru_cache(maxsize=512)
def _parse(env: Environment, source: str) -> BoundTemplate:
    check_liquid_markup(source)  # python-liquid's lexer is not linear on all input
    return env.from_string(source)


def _liquid_error(part: str, source: str, exc: LiquidError) -> TemplateError:
    token = getattr(exc, "token", None)
    index = getattr(token, "start_index", 0) or 0
    token_source = getattr(token, "source", source) or source
    line = token_source.count("\n", 0, index) + 1
    return TemplateError(part, line, getattr(exc, "message", None) or str(exc).splitlines()[0])


_WHITESPACE = re.compile(r"\s+")


def _one_line(subject: str) -> str:
    """Variables cannot smuggle a line break (a header) into the subject: every run of
    whitespace holding a line break becomes one space. (The pattern this replaces,
    `\\s*[\\r\\n]+\\s*`, retried every position of a long run of spaces: 40,000 spaces took 11 s.)"""

    def collapse(run: re.Match[str]) -> str:
        whitespace = run.group()
        return " " if "\n" in whitespace or "\r" in whitespace else whitespace

    return _WHITESPACE.sub(collapse, subject).strip()[:MAX_SUBJECT_LENGTH]

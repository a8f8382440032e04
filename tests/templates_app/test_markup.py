"""templates_app.markup and the passes built on it: the same results as before for normal HTML
(html.parser, the old link and subject regexes are the references), linear time for the rest."""

import re
from html import unescape
from html.parser import HTMLParser

import mjml
import pytest
from django.conf import settings
from django.utils.html import escape

from kraiter.links import click_url, open_pixel_url
from templates_app.markup import EndTag, MarkupError, StartTag, Text, check_nesting, tokens
from templates_app.rendering import _one_line, add_tracking
from templates_app.text import html_to_text
from tests.conftest import GUARD_SECONDS, takes_at_most
from tests.templates_app.test_templates_api import MJML

SEND_ID = "snd_01ARZ3NDEKTSV4RRFFQ69G5FAV"
NORMAL = [
    mjml.mjml2html(MJML, disable_comments=True),
    mjml.mjml2html(
        "<mjml><mj-body><mj-section><mj-column><mj-button href='https://x.io/a?b=1&amp;c=2'>Go</mj-button>"
        "<mj-navbar><mj-navbar-link href='https://n.io'>N</mj-navbar-link></mj-navbar></mj-column></mj-section>"
        "</mj-body></mjml>",
        disable_comments=True,
    ),
    '<html><head><style>p>a{color:red}</style></head><body><h1>Hi &amp; welcome</h1><p>Read <a href="https://x.io/d">'
    "the docs</a> <A HREF = 'HTTP://Y.io'>y</A> <a href=\"mailto:x@y\">m</a> <a href='#x'>h</a>"
    '<a target="_blank"\nhref="https://z.io/ z">z</a><br/><img alt="logo" src="l.png"></p>'
    '<a href="http://127.0.0.1:8000/unsubscribe/x">u</a></body></html>',
    "a < b <3 &lt; <!-- c <a href='https://in.comment'> --> d <!DOCTYPE html> <?x y?> e",
]


class _Recorder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.seen: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append(("start", tag, attrs, False))

    def handle_startendtag(self, tag, attrs):
        self.seen.append(("start", tag, attrs, True))

    def handle_endtag(self, tag):
        self.seen.append(("end", tag))

    def handle_data(self, data):
        self.seen.append(("text", data))


def _merged(events):
    merged: list[tuple] = []
    for event in events:
        if event[0] == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + event[1])
        else:
            merged.append(event)
    return merged


def _ours(html):
    for token in tokens(html):
        if isinstance(token, StartTag):
            yield ("start", token.name, token.attrs, token.self_closing)
        elif isinstance(token, EndTag):
            yield ("end", token.name)
        else:
            assert isinstance(token, Text)
            yield ("text", token.text)


@pytest.mark.parametrize("html", NORMAL)
def test_the_tokenizer_reports_what_html_parser_reports_for_normal_html(html):
    reference = _Recorder()
    reference.feed(html)
    reference.close()
    assert _merged(_ours(html)) == _merged(reference.seen)


_OLD_LINK = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _old_add_tracking(html: str) -> str:
    """The regex version this replaced (the reference for normal HTML)."""

    def rewrite(match):
        href = unescape(match.group(3)).strip()
        if not href.lower().startswith(("http://", "https://")) or href.startswith(f"{settings.PUBLIC_BASE_URL}/"):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{escape(click_url(SEND_ID, href))}{match.group(2)}"

    html = _OLD_LINK.sub(rewrite, html)
    pixel = f'<img src="{escape(open_pixel_url(SEND_ID))}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">'
    ends = list(re.finditer(r"</body\s*>", html, re.IGNORECASE))
    return html[: ends[-1].start()] + pixel + html[ends[-1].start() :] if ends else html + pixel


@pytest.mark.parametrize("html", NORMAL)
def test_link_rewriting_is_unchanged_for_normal_html(html):
    assert add_tracking(html, SEND_ID) == _old_add_tracking(html)


@pytest.mark.parametrize(
    "subject",
    ["Hi  Bob", "Hi\r\nBcc: x@y.z", " \n Hi \t\n\n there \u2028 ", "a\n", "tab\there", "x" * 2000, "\u00a0\nok"],
)
def test_the_subject_clean_up_is_unchanged(subject):
    assert _one_line(subject) == re.sub(r"\s*[\r\n]+\s*", " ", subject).strip()[:998]


@pytest.mark.parametrize(
    "html",
    ["<a " * 130_000, "<a href='" * 60_000, "<!--" * 130_000, "<![" * 130_000, "</a " * 130_000, "<a\n" * 130_000],
)
def test_every_pass_is_linear_on_unclosed_markup(html):
    # html.parser and the old link regex took seconds on 13,333 "<a " (and 4x for 2x): this is 10x that
    with takes_at_most(GUARD_SECONDS):
        list(tokens(html))
        add_tracking(html, SEND_ID)
        check_nesting(html)


def test_nesting_is_counted_as_a_browser_nests():
    check_nesting("<p>" * 500 + "<li>" * 500 + "<br>" * 500 + "<img/>" * 500 + "<div></div>" * 500)
    check_nesting("<table>" + "<tr><td>x" * 500 + "</table>")
    with pytest.raises(MarkupError, match="nested more than 100 deep") as caught:
        check_nesting("<div>\n" * 101)
    assert caught.value.line == 101
    with pytest.raises(MarkupError, match="more than 10,000 elements"):
        check_nesting("<br>" * 10_001)


def test_text_derivation_is_linear_on_links_that_never_close():
    # Each </a> used to re-join every piece of text since its link opened: quadratic when nested
    html = '<a href="https://x.io/">' * 20_000 + "x" + "</a>" * 20_000
    with takes_at_most(GUARD_SECONDS):
        text = html_to_text(html)
    assert text.endswith("https://x.io/x (https://x.io/)")

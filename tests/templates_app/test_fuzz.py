"""Fuzzing templates, their rendering and the passes over rendered HTML (tests/fuzz.py)."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from templates_app.markup import MarkupError, check_nesting
from templates_app.rendering import Recipient, TemplateError, add_tracking, check_template_source, render_email
from templates_app.text import html_to_text
from tests.conftest import takes_at_most
from tests.fuzz import BOUND, FUZZ, documented, json_values, markup


@FUZZ
@given(body=markup, as_mjml=st.booleans(), subject=st.text(max_size=40), variables=json_values)
def test_templates_are_checked_and_rendered_with_documented_errors_only(body, as_mjml, subject, variables):
    source = f"<mjml><mj-body>{body}</mj-body></mjml>" if as_mjml else body
    checked = documented(
        lambda: check_template_source(
            subject=subject, mjml=source if as_mjml else None, html=None if as_mjml else source, text=None
        ),
        TemplateError,
    )
    if checked is None:
        return
    template = SimpleNamespace(subject=subject, html=checked.html, text=None, text_template=checked.text_template)
    context = variables if isinstance(variables, dict) else {"items": variables}
    documented(
        lambda: render_email(template, recipient=Recipient(email="a@example.com"), variables=context, send_id="snd_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        TemplateError,
    )  # fmt: skip


@FUZZ
@given(html=markup)
def test_every_pass_over_rendered_html_takes_any_input(html):
    with takes_at_most(BOUND):
        html_to_text(html)
        add_tracking(html, "snd_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    documented(lambda: check_nesting(html), MarkupError)


NAMES = ["firstName", "plan", "contact", "email", "properties", "size", "first", "x", "tags"]  # (not Liquid's `now`)
outputs = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(".".join)
plain_pieces = st.one_of(
    st.sampled_from(["Hi ", "<b>", " & ", "\n", "é", " "]),
    outputs.map(lambda path: "{{ " + path + " }}"),
    outputs.map(lambda path: "{{- " + path + " -}}"),
)
other_pieces = st.sampled_from(
    ["{{- ", "{{ ", " -}}", " }}", "|", "{%", "raw", "{{ x | upcase }}", "{% if x %}y{% endif %}"]
)
plain_template = st.one_of(
    st.lists(plain_pieces, max_size=12),  # what the fill renders itself
    st.lists(plain_pieces | other_pieces, max_size=12),  # and what it leaves to Liquid
).map("".join)
SPECIAL = ["<b>Bob</b>", "Tom & Jerry", '"quoted"', "it's", "a\nb", "é"]
values = st.recursive(
    st.sampled_from(SPECIAL) | json_values,
    lambda inner: st.dictionaries(st.sampled_from(NAMES), inner, min_size=1, max_size=4) | st.lists(inner, max_size=3),
    max_leaves=8,
)
contexts = st.dictionaries(st.sampled_from(NAMES), values, min_size=3, max_size=9)


@FUZZ
@given(source=plain_template, context=contexts)
def test_text_and_plain_outputs_render_as_liquid_renders_them(source, context):
    """templates_app.rendering fills templates of only text and `{{ path }}` outputs itself:
    the same text as Liquid's render, for every value and every missing one, in both
    environments (the HTML one escapes), and the same error for a template Liquid refuses."""
    from liquid.exceptions import LiquidError

    from templates_app import rendering

    for env in (rendering._HTML_ENV, rendering._PLAIN_ENV):
        try:
            expected = rendering._parse(env, source).render(**context)
        except LiquidError:
            with pytest.raises(TemplateError):
                rendering._render("html", source, env, context)
            continue
        assert rendering._render("html", source, env, context) == expected


def test_a_plain_template_is_filled_without_liquids_render():
    from templates_app import rendering

    source = "Hi {{ firstName }}, {{- contact.email }} {{ tags }}"
    context = {"firstName": "<b>Bob</b>", "contact": {"email": "a&b@example.com"}, "tags": ["x", "<y>"]}
    assert rendering._text_and_outputs(rendering._HTML_ENV, source) is not None
    for env in (rendering._HTML_ENV, rendering._PLAIN_ENV):
        assert rendering._render("html", source, env, context) == rendering._parse(env, source).render(**context)
    assert rendering._render("html", source, rendering._HTML_ENV, context) == (
        "Hi &lt;b&gt;Bob&lt;/b&gt;,a&amp;b@example.com x&lt;y&gt;"
    )

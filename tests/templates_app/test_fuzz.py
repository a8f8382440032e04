"""Fuzzing templates, their rendering and the passes over rendered HTML (tests/fuzz.py)."""

from types import SimpleNamespace

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

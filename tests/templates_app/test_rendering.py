"""templates_app.rendering: the context every sender gets (docs/api.md 4)."""

from types import SimpleNamespace

from kraiter.links import read_unsubscribe_token
from templates_app.rendering import Recipient, render_email
from templates_app.text import html_to_text


def template(subject: str = "", html: str = "", text: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(subject=subject, html=html, text=text)


ALICE = Recipient(
    email="alice@example.com", contact_id="cnt_01ARZ3NDEKTSV4RRFFQ69G5FAV", properties={"plan": "pro", "name": "Al"}
)


def test_variables_at_top_level_fall_back_to_contact_properties():
    rendered = render_email(
        template("{{ name }} {{ plan }}", "{{ variables.name }}|{{ contact.properties.name }}|{{ contact.email }}"),
        recipient=ALICE,
        variables={"name": "Alice"},
    )
    assert rendered.subject == "Alice pro"
    assert rendered.html == "Alice|Al|alice@example.com"


def test_missing_variables_render_empty():
    rendered = render_email(
        template("[{{ nope }}]", "<p>{{ nope.deeper }}{{ contact.properties.none }}</p>"), recipient=ALICE
    )
    assert (rendered.subject, rendered.html) == ("[]", "<p></p>")


def test_builtins_cannot_be_shadowed_by_variables():
    rendered = render_email(
        template("{{ contact.email }}"), recipient=ALICE, variables={"contact": {"email": "x@evil.com"}}
    )
    assert rendered.subject == "alice@example.com"


def test_each_send_gets_its_own_signed_unsubscribe_url():
    send_id = "snd_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    rendered = render_email(template(html='<a href="{{ unsubscribeUrl }}">u</a>'), recipient=ALICE, send_id=send_id)
    token = rendered.html.split("/unsubscribe/")[1].split('"')[0]
    assert read_unsubscribe_token(token) == send_id
    assert read_unsubscribe_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_variables_cannot_break_the_subject_into_headers():
    rendered = render_email(template("Hi {{ name }}"), recipient=ALICE, variables={"name": "x\r\nBcc: evil@x.com"})
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_html_to_text():
    html = "<html><head><title>T</title></head><body><p>One<br>Two</p><ul><li>a</li><li>b</li></ul><a href='mailto:x@y.z'>mail</a> <img alt='logo'></body></html>"
    assert html_to_text(html) == "One\nTwo\n\n- a\n- b\n\nmail logo"

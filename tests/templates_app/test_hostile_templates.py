"""Templates and variables that used to take the service down (issue 12): each is refused with a
400 that names the limit and the line, or handled in linear time."""

import pytest

from contacts.models import Contact
from sends.models import Send
from templates_app.rendering import TemplateError, check_template_source
from tests.conftest import GUARD_SECONDS, takes_at_most
from tests.factories import TemplateFactory
from tests.templates_app.test_templates_api import put


def error_of(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:500]
    return response.json()["error"]


def deep_mjml(levels: int) -> str:
    return (
        "<mjml>\n<mj-body>\n<mj-section><mj-column><mj-text>\n"
        + "<div>" * levels + "x" + "</div>" * levels
        + "\n</mj-text></mj-column></mj-section>\n</mj-body>\n</mjml>"
    )  # fmt: skip


def test_deep_mjml_is_refused_before_the_mjml_compiler_sees_it(api, monkeypatch):
    # Given an MJML body nested 10,000 <div> deep (110 KB): MRML overflows its stack on it and the
    # worker process dies. The compiler must not even be called.
    def compiler(*args, **kwargs):
        raise AssertionError("MRML was called with a document nested too deeply")

    monkeypatch.setattr("templates_app.mjml.mrml.mjml2html", compiler)
    # When it is PUT
    response = put(api, "deep", mjml=deep_mjml(10_000))
    # Then it is a 400 naming the limit and the line of the element past it
    error = error_of(response)
    assert error["message"] == "The template's mjml has an error on line 4: elements are nested more than 100 deep"
    assert api.get("/api/templates/deep").status_code == 404


def test_mjml_at_the_depth_limit_still_compiles(api):
    assert put(api, "deep-enough", mjml=deep_mjml(95)).status_code == 201


def test_too_many_elements_and_too_much_compiled_html_are_refused(api):
    many = (
        "<mjml><mj-body><mj-section><mj-column><mj-text>"
        + "<br>" * 10_001
        + "</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    assert "more than 10,000 elements" in error_of(put(api, "many", mjml=many))["message"]
    sections = "<mjml><mj-body>" + "<mj-section><mj-column></mj-column></mj-section>" * 2000 + "</mj-body></mjml>"
    message = error_of(put(api, "sections", mjml=sections))["message"]
    assert "bytes of HTML; an email may have at most 2,097,152" in message


def test_deep_html_is_refused_and_sloppy_html_is_not(api):
    message = error_of(put(api, "deep-html", mjml=None, html="<p>\n" + "<div>" * 101))["message"]
    assert message == "The template's html has an error on line 2: elements are nested more than 100 deep"
    sloppy = "<ul>" + "<li>item" * 500 + "</ul>" + "<p>para" * 500 + "<br>" * 500
    assert put(api, "sloppy", mjml=None, html=sloppy).status_code == 201


@pytest.mark.parametrize(
    ("html", "label"),
    [
        ("<a " * 13_333, "13,333 unclosed <a (40 KB): PUT took 14.6 s, each send 9.4 s"),
        ("<a href='" * 13_333, "unclosed quotes"),
        ("<p>x</p><![ <![ <!-- <? </ " * 3_000, "html.parser raised AssertionError on '<!['"),
    ],
)
def test_broken_html_is_stored_and_sent_in_linear_time(api, html, label):
    with takes_at_most(GUARD_SECONDS):
        response = put(api, "broken", mjml=None, html=html, subject="Hi")
    assert response.status_code == 201, label
    with takes_at_most(GUARD_SECONDS):
        sent = api.post("/api/send", {"to": "a@example.com", "templateId": "broken"})
    assert sent.status_code == 201, label


@pytest.mark.parametrize("name", [" " * 40_000 + "Bob", " " * 30_000 + "\n" + " " * 30_000 + "Bcc: evil@example.com"])
def test_a_subject_variable_of_spaces_renders_in_linear_time(api, name):
    # 40,000 spaces took 11 s in one POST /api/send, and twice as many four times as long
    TemplateFactory(organisation=api.organisation, slug="hi", subject="Hi {{ firstName }}")
    with takes_at_most(GUARD_SECONDS):
        response = api.post("/api/send", {"to": "a@example.com", "templateId": "hi", "variables": {"firstName": name}})
    assert response.status_code == 201
    subject = Send.objects.get().subject
    assert subject.startswith("Hi ") and len(subject) <= 998 and "\n" not in subject


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x\n\n" + "{{" * 20_000, "line 3: '{{' is never closed with '}}'"),  # python-liquid took 80 s
        ("x\n{% raw %}" * 10_000, "line 2: {% raw %} is never closed with {% endraw %}"),
        ("{% if a %}x\n{% endif" + " " * 8_000 + "%}", "line 2: a Liquid tag is longer than 1,000 characters"),
        ("{{" + " " * 40 + "}}", "line 1: a Liquid tag holds only whitespace, more than 32 characters"),
        ("{{ " + "(" * 5_000 + " }}", "line 1: a Liquid tag is longer than 1,000 characters"),
        ("{% liquid\necho a\n" + "echo " + "a" * 2_000 + "\n%}", "line 3: a line of a Liquid tag is longer than"),
    ],
)
def test_liquid_the_lexer_cannot_read_in_linear_time_is_refused_with_the_line(api, source, reason):
    with takes_at_most(GUARD_SECONDS):
        response = put(api, "lexer", mjml=None, html=source)
    assert reason in error_of(response)["message"]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ('{{ (1..100000000) | join: "," }}', "join: a range of more than 100,000 items"),  # 15 s, then MemoryError
        ("{{ (1..100000000) | sum }}", "sum: a range of more than 100,000 items"),
        ("{% assign r = (1..1000000) %}{{ r | reverse | first }}", "reverse: a range of more than 100,000 items"),
    ],
)
def test_filters_given_huge_ranges_are_refused_at_put(api, source, reason):
    with takes_at_most(GUARD_SECONDS):
        response = put(api, "ranges", mjml=None, html=source)
    assert reason in error_of(response)["message"]


def test_filters_that_multiply_their_input_are_refused_before_they_run(api):
    put(api, "multiply", mjml=None, html='{{ a | replace: "x", b }}|{{ list | join: b }}')
    bomb = {"a": "x" * 10_000, "b": "y" * 1_000}
    with takes_at_most(GUARD_SECONDS):
        response = api.post("/api/templates/multiply/preview", {"variables": bomb})
    assert "replace: the result would be longer than 4,194,304 characters" in error_of(response, 422)["message"]
    response = api.post("/api/templates/multiply/preview", {"variables": {"list": ["z"] * 10_000, "b": "y" * 1_000}})
    assert "join: the result would be longer" in error_of(response, 422)["message"]


def test_uniq_is_linear_and_keeps_the_first_of_equal_items(api):
    html = (
        "{% assign items = csv | split: ',' %}{{ items | concat: items | uniq | size }}"
        "|{{ small | uniq | join: ',' }}|{{ people | uniq: 'n' | size }}|{{ people | uniq | size }}"
    )
    put(api, "uniq", mjml=None, html=html)
    csv = ",".join(str(n) for n in range(11_000))  # 22,000 items once concatenated
    variables = {"csv": csv, "small": [3, 1, 3, 2, 1], "people": [{"n": 1}, {"n": 1}, {"n": 2, "m": 0}]}
    with takes_at_most(GUARD_SECONDS):  # python-liquid's compared every item with every earlier one: seconds
        response = api.post("/api/templates/uniq/preview", {"variables": variables})
    assert response.status_code == 200
    assert response.json()["html"] == "11000|3,1,2|2|2"


# Each is under its own limit (a 60 KB variable, a tiny template), the email they make is not.
MANY_TIMES = "<p>{% for i in (1..40) %}{{ big }}{% endfor %}</p>"
BIG = {"big": "x" * 60_000}


def test_an_email_over_the_size_limit_is_a_400_with_the_figures_on_preview_and_send(api):
    TemplateFactory(organisation=api.organisation, slug="doubled", subject="Big", html=MANY_TIMES)
    expected = "The email is too large to send: the rendered email is 2,400,010 bytes (HTML and text)"
    preview = api.post("/api/templates/doubled/preview", {"variables": BIG})
    assert error_of(preview)["message"].startswith(expected) and "at most 2,097,152 bytes" in preview.content.decode()
    sent = api.post("/api/send", {"to": "a@example.com", "templateId": "doubled", "variables": BIG})
    assert error_of(sent)["message"].startswith(expected)
    assert not Send.objects.exists() and not Contact.objects.exists()


def test_text_the_database_cannot_store_is_refused_by_the_template_check_itself():
    # The API's parser refuses it first (tests/kraiter/test_hostile_input.py); management
    # commands and factories call the check directly.
    with pytest.raises(TemplateError) as caught:
        check_template_source(subject="Hi", mjml=None, html="<p>ok</p>\n<p>\x00</p>", text=None)
    assert (caught.value.part, caught.value.line) == ("html", 2) and "NUL" in caught.value.reason

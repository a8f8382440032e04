"""/api/templates (docs/api.md 4): upsert, versions, validation with lines, preview."""

import pytest

from tests.factories import ContactFactory
from tests.openapi import assert_matches_schema

MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello {{ firstName }}, you are on {{ contact.properties.plan }}.</mj-text>
        <mj-button href="{{ ctaUrl }}">Open</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>"""


def put(api, slug: str, **fields):
    body = {"id": slug, "name": "Welcome", "subject": "Welcome, {{ firstName }}!", "mjml": MJML, **fields}
    return api.put(f"/api/templates/{slug}", {k: v for k, v in body.items() if v is not None})


def test_put_creates_then_updates(api):
    created = put(api, "welcome-email")
    assert created.status_code == 201
    assert_matches_schema(created, "PUT", "/api/templates/welcome-email")
    body = created.json()
    assert body["id"] == "welcome-email" and body["version"] == 1
    assert body["mjml"] == MJML and "<!doctype html>" in body["html"].lower() and body["text"] is None
    updated = put(api, "welcome-email", subject="Hi {{ firstName }}")
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert_matches_schema(updated, "PUT", "/api/templates/welcome-email")


def test_an_identical_put_or_a_rename_keeps_the_version(api):
    put(api, "receipt")
    assert put(api, "receipt").json()["version"] == 1
    renamed = put(api, "receipt", name="Receipt v2")
    assert renamed.json()["version"] == 1 and renamed.json()["name"] == "Receipt v2"
    assert put(api, "receipt", variables=["firstName"]).json()["version"] == 2
    assert put(api, "receipt", variables=["firstName"], text="Hi {{ firstName }}").json()["version"] == 3


def test_html_templates_and_derived_text(api):
    html = '<html><head><style>p{color:red}</style></head><body><h1>Hi {{ name }}</h1><p>Read <a href="https://x.io/d">the docs</a>.</p></body></html>'
    response = put(api, "plain", mjml=None, html=html)
    assert response.status_code == 201
    assert response.json()["mjml"] is None and response.json()["html"] == html
    preview = api.post("/api/templates/plain/preview", {"variables": {"name": "Ann"}}).json()
    assert preview["text"] == "Hi Ann\n\nRead the docs (https://x.io/d)."


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mjml": None}, "exactly one"),
        ({"html": "<p>x</p>"}, "exactly one"),
        ({"id": "other"}, "differs"),
        ({"name": None}, "'name' field is required"),
        ({"subject": 7}, "subject"),
        ({"variables": "firstName"}, "variables"),
        ({"subject": "Hi\r\nBcc: x@y.z"}, "single line"),
    ],
)
def test_put_validation(api, fields, message):
    response = put(api, "bad", **fields)
    assert response.status_code == 400
    assert message in str(response.json()["error"])


@pytest.mark.parametrize(
    ("mjml", "line", "reason"),
    [
        ("<mjml>\n<mj-body>\n<mj-section>\n</mj-body>\n</mjml>", 4, "</mj-body> found where </mj-section>"),
        ("<mjml>\n<mj-body>\n  <mj-colum>x</mj-colum>\n</mj-body>\n</mjml>", 3, "not an MJML element"),
        ("<mjml>\n<mj-body>\n<div>raw</div>\n</mj-body>\n</mjml>", 3, "is HTML"),
        ("<mjml>\n<mj-body>\n<mj-section>", 3, "never closed"),
        ("<html><body>not mjml</body></html>", 1, "MJML"),
    ],
)
def test_invalid_mjml_is_400_with_the_line(api, mjml, line, reason):
    response = put(api, "broken", mjml=mjml)
    assert response.status_code == 400
    error = response.json()["error"]
    assert f"line {line}" in error["message"] and reason in error["message"], error["message"]
    assert api.get("/api/templates/broken").status_code == 404


@pytest.mark.parametrize(
    ("part", "source", "line", "reason"),
    [
        ("subject", "Hi {{ name ", 1, ""),
        ("html", "<p>ok</p>\n<p>{% if %}</p>", 2, "missing expression"),
        ("html", "<p>\n\n{{ name | no_such_filter }}</p>", 3, "unknown filter"),
        ("html", "<p>{% include 'secrets' %}</p>", 1, "not available"),
        ("html", "a\n{% for i in (1..100000000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}", 2, "loop"),
        (
            "text",
            "{% assign s = 'xxxxxxxxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}",
            1,
            "limit",
        ),
    ],
)
def test_liquid_errors_are_400_with_the_line(api, part, source, line, reason):
    fields = {"mjml": None, "html": "<p>x</p>"}
    fields[part] = source
    response = put(api, "liquid", **fields)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert f"line {line}" in error["message"] and reason in error["message"], error["message"]
    assert list(error["details"]) == [part]


def test_a_1mb_template_is_refused_clearly(api):
    response = put(api, "huge", mjml=None, html="<p>" + "x" * (1024 * 1024) + "</p>")
    assert response.status_code == 400
    assert "512 KB" in response.json()["error"]["message"]


def test_list_newest_first_with_pages(api, other_api):
    for slug in ("a-first", "b-second", "c-third"):
        put(api, slug)
    put(other_api, "z-theirs")
    first = api.get("/api/templates?limit=2")
    assert_matches_schema(first, "GET", "/api/templates")
    assert [t["id"] for t in first.json()["data"]] == ["c-third", "b-second"]
    rest = api.get(f"/api/templates?limit=2&cursor={first.json()['nextCursor']}").json()
    assert [t["id"] for t in rest["data"]] == ["a-first"] and rest["nextCursor"] is None


def test_get_delete_and_isolation(api, other_api):
    put(api, "mine")
    assert other_api.get("/api/templates/mine").status_code == 404
    assert other_api.delete("/api/templates/mine").status_code == 404
    assert api.get("/api/templates/mine").status_code == 200
    assert api.get("/api/templates/Not_A_Slug!").status_code == 400
    assert api.delete("/api/templates/mine").status_code == 204
    assert api.get("/api/templates/mine").status_code == 404


def test_preview_renders_with_variables_and_contact_and_lists_missing_ones(api):
    put(api, "welcome-email", text="Hi {{ firstName }} {{ lastName }}")
    contact = ContactFactory(organisation=api.organisation, email="zoe@example.com", properties={"plan": "pro"})
    response = api.post(
        "/api/templates/welcome-email/preview", {"variables": {"firstName": "Zoë <3"}, "contactId": contact.id}
    )
    assert response.status_code == 200
    assert_matches_schema(response, "POST", "/api/templates/welcome-email/preview")
    body = response.json()
    assert body["subject"] == "Welcome, Zoë <3!"  # the subject is not HTML: no escaping
    assert "Hello Zoë &lt;3, you are on pro." in body["html"]  # the body is: escaped
    assert body["text"] == "Hi Zoë <3 "
    assert body["missingVariables"] == ["ctaUrl", "lastName"]


def test_preview_by_email_falls_back_to_contact_properties(api):
    put(api, "props", mjml=None, html="<p>{{ plan }} / {{ contact.email }}</p>", subject="x")
    ContactFactory(organisation=api.organisation, email="yan@example.com", properties={"plan": "team"})
    body = api.post("/api/templates/props/preview", {"email": "yan@example.com"}).json()
    assert "<p>team / yan@example.com</p>" in body["html"] and body["missingVariables"] == []
    unknown = api.post("/api/templates/props/preview", {"email": "new@example.com"}).json()
    assert "<p> / new@example.com</p>" in unknown["html"] and unknown["missingVariables"] == ["plan"]


def test_preview_errors(api, other_api):
    put(api, "p")
    other = ContactFactory(organisation=other_api.organisation)
    assert api.post("/api/templates/p/preview", {"contactId": other.id}).status_code == 404
    assert api.post("/api/templates/p/preview", {"contactId": "cnt_x"}).status_code == 400
    assert api.post("/api/templates/p/preview", {"variables": []}).status_code == 400
    assert api.post("/api/templates/p/preview", {"contactId": other.id, "email": "a@b.co"}).status_code == 400
    assert api.post("/api/templates/nope/preview", {}).status_code == 404


def test_a_render_that_hits_a_limit_with_real_variables_is_422(api):
    put(api, "loop", mjml=None, html="{% for i in items %}{% for j in items %}x{% endfor %}{% endfor %}")
    response = api.post("/api/templates/loop/preview", {"variables": {"items": list(range(1000))}})
    assert response.status_code == 422
    assert "loop" in response.json()["error"]["message"]

"""Hostile input at the edge of the API (issue 12): nesting, text the database cannot store,
unknown routes under CSRF, and the last resort for a RecursionError. Every answer is the envelope."""

import base64
import json

import pytest
from rest_framework.test import APIClient

from contacts.models import Contact, Event
from sends.models import Send
from tests.factories import ContactFactory, TemplateFactory
from tests.kraiter.test_conventions import assert_envelope


def raw(api, method: str, path: str, body: str):
    return api.generic(method, path, body, content_type="application/json")


@pytest.fixture
def template(organisation):
    return TemplateFactory(organisation=organisation, slug="hello", subject="Hi {{ firstName }}")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/send", '{"to": "a@example.com", "templateId": "hello", "variables": {"x": %s}}'),
        ("/api/contacts", '{"email": "a@example.com", "properties": {"x": %s}}'),
        ("/api/events", '{"name": "signed_up", "email": "a@example.com", "properties": {"x": %s}}'),
    ],
)
@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_json_nested_a_thousand_levels_is_a_400_that_says_so(api, template, path, body, levels):
    # Was a 500 with a traceback (RecursionError), from any API key
    response = raw(api, "POST", path, body % ("[" * levels + "]" * levels))
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert error["message"] == "The request body is nested more than 32 levels deep."
    assert not Contact.objects.exists() and not Send.objects.exists()


def test_nesting_up_to_the_limit_is_accepted(api):
    # the body is one level, properties another: 30 more lists make 32
    response = api.post(
        "/api/contacts", {"email": "a@example.com", "properties": {"x": json.loads("[" * 30 + "]" * 30)}}
    )
    assert response.status_code == 201
    response = api.post(
        "/api/contacts", {"email": "b@example.com", "properties": {"x": json.loads("[" * 31 + "]" * 31)}}
    )
    assert_envelope(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "payload", [b"[" * 1000 + b"]" * 1000, b'{"id": ' + b"[" * 100_000 + b"}", b'{"f": "x", "id": "\\ud800"}']
)
def test_a_hostile_cursor_is_a_400(api, payload):
    cursor = base64.urlsafe_b64encode(payload).decode()
    error = assert_envelope(api.get(f"/api/contacts?cursor={cursor}"), 400, "VALIDATION_ERROR")
    assert "cursor" in error["message"]


NUL, SURROGATE = "\\u0000", "\\ud83d"  # as they travel in JSON: a NUL, half of a surrogate pair
NUL_CASES = [
    ("POST", "/api/contacts", '{"email": "a@example.com", "properties": {"name": "Al%s"}}', "properties.name"),
    (
        "POST",
        "/api/contacts",
        '{"email": "a@example.com", "properties": {"na%sme": 1}}',
        "properties.na\\u0000me",
    ),  # a key
    ("PATCH", "/api/contacts/{contact}", '{"properties": {"tags": ["ok", "x%s"]}}', "properties.tags[1]"),
    (
        "POST",
        "/api/events",
        '{"name": "signed_up", "email": "a@example.com", "properties": {"v": "%s"}}',
        "properties.v",
    ),
    (
        "POST",
        "/api/send",
        '{"to": "a@example.com", "templateId": "hello", "variables": {"firstName": "A%s"}}',
        "variables.firstName",
    ),
    ("POST", "/api/templates/hello/preview", '{"variables": {"firstName": "A%s"}}', "variables.firstName"),
    ("PUT", "/api/templates/hello", '{"name": "x", "subject": "s", "html": "<p>%s</p>"}', "html"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_CASES)
def test_a_nul_in_any_string_or_key_is_a_400_naming_the_field_and_writes_nothing(
    api, template, method, path, body, field
):
    # Was a 500 from PostgreSQL (DataError) on send, contacts and events; the preview said 200
    contact = ContactFactory(organisation=api.organisation, email="z@example.com", properties={"tags": []})
    before = (Contact.objects.count(), Event.objects.count(), Send.objects.count())
    response = raw(api, method, path.format(contact=contact.id), body % NUL)
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    problem = "contains a NUL character (\\u0000), which cannot be stored"
    assert error["message"] in (f"'{field}' {problem}.", f"'{field}' is a key that {problem}.")
    assert list(error["details"]) == [field]
    assert (Contact.objects.count(), Event.objects.count(), Send.objects.count()) == before
    contact.refresh_from_db()
    assert contact.properties == {"tags": []}


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_CASES)
def test_a_lone_surrogate_is_refused_the_same_way(api, template, method, path, body, field):
    contact = ContactFactory(organisation=api.organisation, email="z@example.com", properties={"tags": []})
    response = raw(api, method, path.format(contact=contact.id), body % SURROGATE)
    assert "lone surrogate (\\ud83d)" in assert_envelope(response, 400, "VALIDATION_ERROR")["message"]


def test_a_whole_surrogate_pair_is_ordinary_text(api, template):
    response = raw(api, "POST", "/api/contacts", '{"email": "a@example.com", "properties": {"e": "\\ud83d\\ude00"}}')
    assert response.status_code == 201 and response.json()["properties"] == {"e": "😀"}


def csrf_enforcing(api) -> APIClient:
    """A client as a browser-less attacker is: no CSRF token, and Django checks for one."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
    return client


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("path", ["/api/segments", "/api/contacts/cnt_x/nothing", "/api/", "/api/x/y/z/"])
def test_unknown_routes_are_404_in_the_envelope_for_every_method(api, method, path):
    # POST /api/segments was Django's HTML CSRF page (403)
    response = getattr(csrf_enforcing(api), method)(path)
    assert_envelope(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/tenant"),
        ("delete", "/api/send"),
        ("put", "/api/contacts"),
        ("post", "/api/templates/x"),
        ("patch", "/api/sequences"),
        ("put", "/api/metrics"),
        ("post", "/api/schema/"),
        ("post", "/api/docs/"),  # the docs page is HTML; its 405 is not
    ],
)
def test_a_wrong_method_on_a_known_route_is_405_in_the_envelope(api, method, path):
    assert_envelope(getattr(csrf_enforcing(api), method)(path), 405, "METHOD_NOT_ALLOWED")


def test_a_request_refused_before_any_view_is_the_envelope_under_api(api):
    assert_envelope(api.get("/api/tenant", HTTP_HOST="evil.example"), 400, "VALIDATION_ERROR")


def test_a_recursion_error_is_never_a_500(api, client, monkeypatch):
    # The causes are bounded at the edge; if one is ever missed, the client still gets a 400.
    def too_deep(**kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("contacts.views.selectors.contact_list", too_deep)
    assert "nested too deeply" in assert_envelope(api.get("/api/contacts"), 400, "VALIDATION_ERROR")["message"]
    monkeypatch.setattr("sends.engagement.webhook.topic_is_trusted", lambda notification: too_deep())
    response = client.post("/webhooks/ses/", data="{}", content_type="text/plain")
    assert "nested too deeply" in assert_envelope(response, 400, "VALIDATION_ERROR")["message"]

"""The schema's examples (issue 14: every addition documented with an example) are true: each
fits its schema, and each request example, sent to the server, gets the answer its response
example shows (ids and timestamps aside)."""

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kraiter.api.examples import REQUESTS, RESPONSES
from tests.factories import TemplateFactory
from tests.openapi import raw_openapi_document

VOLATILE = {"id", "tenantId", "contactId", "createdAt", "updatedAt", "enrolledAt", "endedAt", "dnsRecords"}


def _media(method: str, path: str, status: str | None) -> dict:
    operation = raw_openapi_document()["paths"][path][method]
    if status is None:
        return operation["requestBody"]["content"]["application/json"]
    return operation["responses"][status]["content"]["application/json"]


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    registry = Registry().with_resource(
        "urn:openapi", Resource(contents=raw_openapi_document(), specification=DRAFT202012)
    )
    wrapped = {"$ref": "urn:openapi#/components/schemas/" + schema["$ref"].rsplit("/", 1)[1]}
    return jsonschema.Draft202012Validator(
        wrapped, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


EXAMPLES = [(method, path, None) for method, path in REQUESTS] + list(RESPONSES)


@pytest.mark.parametrize(("method", "path", "status"), EXAMPLES, ids=lambda part: str(part))
def test_every_example_is_served_and_fits_its_schema(method, path, status):
    media = _media(method, path, status)
    expected = REQUESTS[(method, path)] if status is None else RESPONSES[(method, path, status)]
    assert media["example"] == expected
    errors = [error.message for error in _validator(media["schema"]).iter_errors(media["example"])]
    assert errors == []


def test_a_made_up_example_would_be_caught():
    """The check above can fail: a response example missing a required field does not fit."""
    media = _media("post", "/api/events", "201")
    broken = {key: value for key, value in media["example"].items() if key != "timestamp"}
    assert list(_validator(media["schema"]).iter_errors(broken))


def _without_volatile(body: dict) -> dict:
    return {key: value for key, value in body.items() if key not in VOLATILE}


def test_the_request_examples_get_the_response_examples(api):
    api.organisation.sending_status, api.organisation.name = "sandbox", "Example Co"
    api.organisation.save()
    TemplateFactory(organisation=api.organisation, slug="welcome")
    TemplateFactory(organisation=api.organisation, slug="tips")
    api.post("/api/contacts", {"email": "alice@example.com"})
    exchanges = [
        ("put", "/api/sequences/{id}", "/api/sequences/onboarding", "201"),
        ("post", "/api/sequences/{id}/activate", "/api/sequences/onboarding/activate", "200"),
        ("post", "/api/sequences/{id}/enrol", "/api/sequences/onboarding/enrol", "201"),
        ("post", "/api/events", "/api/events", "201"),
        ("post", "/api/domains", "/api/domains", "201"),
        ("post", "/api/tenant/sandbox-whitelist", "/api/tenant/sandbox-whitelist", "200"),
        ("get", "/api/tenant", "/api/tenant", "200"),
    ]
    for method, template, url, status in exchanges:
        response = getattr(api, method)(url, REQUESTS.get((method, template)))
        assert str(response.status_code) == status, (url, response.json())
        assert _without_volatile(response.json()) == _without_volatile(RESPONSES[(method, template, status)])
        if template == "/api/domains":
            records = [(r["type"], r["purpose"]) for r in response.json()["dnsRecords"]]
            example = [(r["type"], r["purpose"]) for r in RESPONSES[(method, template, status)]["dnsRecords"]]
            assert records == example
    enrolment = api.get("/api/contacts/alice@example.com/enrolments").json()["data"][0]
    exited = api.post(f"/api/sequences/onboarding/enrolments/{enrolment['id']}/exit")
    exit_example = RESPONSES[("post", "/api/sequences/{id}/enrolments/{enrolment_id}/exit", "200")]
    assert _without_volatile(exited.json()) == _without_volatile(exit_example)

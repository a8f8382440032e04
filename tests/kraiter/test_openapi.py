"""The served OpenAPI document as a client generator reads it (docs/api.md 2; issue 12 item 5,
issue 16): names a person would write, every constraint the server checks, the headers clients
read, and the document in the format the client asks for."""

import json
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kraiter.api.openapi import EMAIL, OPERATIONS
from kraiter.emails import normalise_email
from kraiter.errors import InvalidInput
from tests.openapi import raw_openapi_document


@pytest.fixture
def document():
    return raw_openapi_document()


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_operation_has_its_id_and_summary_from_one_table(document):
    served = {(method, path) for method, path, _ in operations(document)}
    assert served == set(OPERATIONS), "kraiter/api/openapi.py OPERATIONS and the URLconf disagree"
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations(document):
        assert (operation["operationId"], operation["summary"]) == OPERATIONS[(method, path)]
    assert {"send_create", "sequence_activate", "contact_get"} <= set(ids)


def test_paths_are_written_as_clients_call_them(document):
    assert not [path for path in document["paths"] if path.endswith("/")]


def test_component_names_and_enums_are_defined_once(document):
    schemas = document["components"]["schemas"]
    assert "SendCreateRequest" in schemas and not [name for name in schemas if name.endswith("RequestRequest")]
    value_sets = [tuple(sorted(schema["enum"])) for schema in schemas.values() if "enum" in schema]
    assert len(value_sets) == len(set(value_sets)), "two enum components with the same values"
    assert {"SendStatus", "SendSource", "SequenceStatus", "EnrolmentStatus", "SendingStatus"} <= set(schemas)
    status = next(p for p in document["paths"]["/api/sends"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"] == {"$ref": "#/components/schemas/SendStatus"}
    scheduled = schemas["ScheduledSend"]["properties"]["source"]
    assert scheduled.get("$ref", "").endswith("/SendSource") or "SendSource" in json.dumps(scheduled)


def test_path_and_query_parameters_state_what_the_server_checks(document):
    def parameter(path, method, name):
        return next(p for p in document["paths"][path][method]["parameters"] if p["name"] == name)["schema"]

    assert parameter("/api/sends/{id}", "get", "id")["pattern"].startswith("^snd_")
    contact = parameter("/api/contacts/{id}", "get", "id")
    assert contact["anyOf"][0]["pattern"].startswith("^cnt_") and contact["anyOf"][1]["format"] == "email"
    assert parameter("/api/templates/{id}", "get", "id")["pattern"] == "^[a-z0-9_-]{1,64}$"
    assert parameter("/api/contacts", "get", "limit") | {} == {
        "type": "integer", "minimum": 1, "maximum": 100, "default": 20,
    }  # fmt: skip
    assert parameter("/api/metrics", "get", "from")["format"] == "date-time"
    assert parameter("/api/metrics", "get", "tz") == {"$ref": "#/components/schemas/TimeZone"}
    assert "Europe/London" in document["components"]["schemas"]["TimeZone"]["enum"]
    assert parameter("/api/contacts", "get", "search")["minLength"] == 1  # empty values are a 400
    assert parameter("/api/send", "post", "Idempotency-Key")["pattern"]


def test_request_bodies_state_their_one_of_rules_and_storable_text(document):
    schemas = document["components"]["schemas"]
    assert {"oneOf": [{"required": ["mjml"]}, {"required": ["html"]}]} in schemas["TemplatePutRequest"]["allOf"]
    assert schemas["SendCreateRequest"]["properties"]["to"]["format"] == "email"
    assert schemas["TemplatePutRequest"]["properties"]["subject"]["pattern"] == "^[^\\u0000]*$"
    assert "#/components/schemas/JsonObject" in json.dumps(schemas["SendCreateRequest"]["properties"]["variables"])
    assert document["paths"]["/api/events"]["post"]["requestBody"]["required"] is True


def test_headers_and_error_examples_are_declared(document):
    send = document["paths"]["/api/send"]["post"]["responses"]
    assert "Idempotent-Replayed" in send["201"]["headers"]
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            assert "X-Request-Id" in response["headers"]
            if status == "429":
                assert "Retry-After" in response["headers"]
    not_found = document["paths"]["/api/contacts/{id}"]["get"]["responses"]["404"]["content"]["application/json"]
    unauthorised = document["paths"]["/api/contacts/{id}"]["get"]["responses"]["401"]["content"]["application/json"]
    assert (not_found["example"]["error"]["code"], unauthorised["example"]["error"]["code"]) == (
        "NOT_FOUND", "UNAUTHORISED",
    )  # fmt: skip


def test_key_management_is_declared_for_staff_sessions_only(document):
    assert document["paths"]["/api/keys"]["post"]["security"] == [{"StaffSession": []}]
    assert document["paths"]["/api/keys/{id}"]["delete"]["security"] == [{"StaffSession": []}]


@pytest.mark.parametrize(
    ("accept", "parse"),
    [
        ("application/json", json.loads),
        ("application/vnd.oai.openapi+json", json.loads),
        ("application/yaml", yaml.safe_load),
        ("application/vnd.oai.openapi", yaml.safe_load),
        ("*/*", json.loads),
    ],
)
def test_the_schema_is_served_in_the_format_asked_for(client, accept, parse):
    response = client.get("/api/schema/", HTTP_ACCEPT=accept)
    assert response.status_code == 200, response.content[:200]
    assert parse(response.content)["openapi"].startswith("3.1")


def test_an_empty_query_value_is_a_400_naming_it(api):
    response = api.get("/api/sends?status=")
    assert response.status_code == 400
    assert (
        response.json()["error"]["message"] == "The query parameter 'status' is empty: give it a value or leave it out."
    )
    assert api.get("/api/contacts?search=&limit=5").json()["error"]["details"] == {"search": ["Empty."]}


def _within_lengths(address: str) -> bool:
    """`format: email` itself bounds the local part at 64 characters (RFC 5321)."""
    return len(address) <= EMAIL["maxLength"] and len(address.rpartition("@")[0]) <= 64


@given(st.from_regex(EMAIL["pattern"], fullmatch=True).filter(_within_lengths))
@settings(max_examples=300, deadline=None)
def test_every_address_the_schema_allows_is_accepted(address):
    """The schema's address pattern never promises what the server refuses."""
    normalise_email(address)


@pytest.mark.parametrize("address", ["x_dy5l\ufffd@eq.info", "a..b@example.com", "a@example", "a@-x.com", "a b@x.com"])
def test_addresses_the_server_refuses_are_outside_the_schema(address):
    assert not re.fullmatch(EMAIL["pattern"], address)
    with pytest.raises(InvalidInput):
        normalise_email(address)

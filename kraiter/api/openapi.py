"""The served OpenAPI document, made exact: drf-spectacular writes it from the views and
serializers; this post-processing hook states what the server enforces and the generator cannot
see (docs/api.md 2, issue 12: "the schema is the contract, exactly").

- paths without their trailing slash, as clients call them (both forms are served);
- operation ids and summaries a person would write (`send_create`, `sequence_activate`), once,
  in OPERATIONS below; a route missing from it fails tests/kraiter/test_openapi.py;
- path parameters with the pattern the server checks (prefixed ULIDs, slugs, contact id or
  address), query parameters with their ranges and formats, and no empty values (a 400);
- the response headers every client may read: X-Request-Id everywhere, Retry-After on 429,
  Idempotent-Replayed on POST /api/send;
- request and response examples for sequences, enrolments, events and domains (examples.py).
"""

import re
from typing import Any
from zoneinfo import available_timezones

from contacts.events import EVENT_NAME
from kraiter.api.examples import add_examples
from kraiter.api.fields import SLUG_PATTERN
from kraiter.api.ids import ULID_BODY

# (method, path) → (operation id, summary)
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("get", "/api/contacts"): ("contact_list", "List contacts"),
    ("post", "/api/contacts"): ("contact_create", "Create a contact"),
    ("get", "/api/contacts/{id}"): ("contact_get", "Get a contact, by id or address"),
    ("patch", "/api/contacts/{id}"): ("contact_update", "Update a contact's properties or opt-outs"),
    ("delete", "/api/contacts/{id}"): ("contact_delete", "Delete a contact"),
    ("get", "/api/contacts/{contact_id}/enrolments"): ("contact_enrolment_list", "List a contact's enrolments"),
    ("get", "/api/contacts/{contact_id}/scheduled"): ("contact_scheduled_list", "List a contact's scheduled sends"),
    ("get", "/api/contacts/{contact_id}/sends"): ("contact_send_list", "List a contact's sends"),
    ("get", "/api/contacts/{contact_id}/timeline"): ("contact_timeline", "A contact's timeline"),
    ("get", "/api/domains"): ("domain_list", "List sending domains"),
    ("post", "/api/domains"): ("domain_create", "Add a sending domain"),
    ("get", "/api/domains/{id}"): ("domain_get", "Get a sending domain and its DNS records"),
    ("delete", "/api/domains/{id}"): ("domain_delete", "Remove a sending domain"),
    ("post", "/api/domains/{id}/verify"): ("domain_verify", "Check a domain's DNS records now"),
    ("get", "/api/events"): ("event_list", "List events"),
    ("post", "/api/events"): ("event_create", "Track an event"),
    ("get", "/api/events/{id}"): ("event_get", "Get an event"),
    ("get", "/api/keys"): ("key_list", "List API keys"),
    ("post", "/api/keys"): ("key_create", "Create an API key (staff session)"),
    ("delete", "/api/keys/{id}"): ("key_revoke", "Revoke an API key (staff session)"),
    ("get", "/api/metrics"): ("metrics_get", "The organisation's engagement metrics"),
    ("get", "/api/metrics/sequences/{id}"): ("metrics_sequence_get", "A sequence's engagement metrics"),
    ("get", "/api/metrics/templates/{id}"): ("metrics_template_get", "A template's engagement metrics"),
    ("get", "/api/scheduled"): ("scheduled_list", "List scheduled sends"),
    ("get", "/api/scheduled/{id}"): ("scheduled_get", "Get a scheduled send"),
    ("delete", "/api/scheduled/{id}"): ("scheduled_cancel", "Cancel a scheduled send"),
    ("post", "/api/send"): ("send_create", "Send a transactional email"),
    ("get", "/api/sends"): ("send_list", "List sends"),
    ("get", "/api/sends/{id}"): ("send_get", "Get a send and its history"),
    ("get", "/api/sequences"): ("sequence_list", "List sequences"),
    ("get", "/api/sequences/{id}"): ("sequence_get", "Get a sequence"),
    ("put", "/api/sequences/{id}"): ("sequence_upsert", "Create or replace a sequence"),
    ("delete", "/api/sequences/{id}"): ("sequence_delete", "Delete a sequence"),
    ("post", "/api/sequences/{id}/activate"): ("sequence_activate", "Activate a sequence"),
    ("post", "/api/sequences/{id}/pause"): ("sequence_pause", "Pause a sequence"),
    ("post", "/api/sequences/{id}/enrol"): ("sequence_enrol", "Enrol a contact"),
    ("get", "/api/sequences/{id}/enrolments"): ("sequence_enrolment_list", "List a sequence's enrolments"),
    ("get", "/api/sequences/{id}/enrolments/{enrolment_id}"): ("sequence_enrolment_get", "Get an enrolment"),
    ("delete", "/api/sequences/{id}/enrolments/{enrolment_id}"): (
        "sequence_enrolment_delete",
        "Take a contact out of a sequence",
    ),
    ("post", "/api/sequences/{id}/enrolments/{enrolment_id}/exit"): (
        "sequence_enrolment_exit",
        "Take a contact out of a sequence",
    ),
    ("get", "/api/templates"): ("template_list", "List templates"),
    ("get", "/api/templates/{id}"): ("template_get", "Get a template"),
    ("put", "/api/templates/{id}"): ("template_upsert", "Create or replace a template"),
    ("delete", "/api/templates/{id}"): ("template_delete", "Delete a template"),
    ("post", "/api/templates/{id}/preview"): ("template_preview", "Render a template without sending it"),
    ("get", "/api/tenant"): ("tenant_get", "The caller's organisation"),
    ("get", "/api/tenant/sandbox-whitelist"): ("sandbox_whitelist_get", "The sandbox whitelist"),
    ("post", "/api/tenant/sandbox-whitelist"): ("sandbox_whitelist_add", "Add an address to the sandbox whitelist"),
    ("delete", "/api/tenant/sandbox-whitelist"): (
        "sandbox_whitelist_remove",
        "Remove an address from the sandbox whitelist",
    ),
}

# Addresses normalise_email accepts, in ASCII: a dot-atom local part, a domain of labels of at
# most 63 letters, digits and inner hyphens, a top-level name of letters. The server accepts more (an
# internationalised domain, as Unicode or xn--); with only `format: email`, schema checkers take
# any text with an @ in it for an address.
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = {
    "type": "string",
    "format": "email",
    "maxLength": 254,
    "pattern": f"^{_ATEXT}(?:\\.{_ATEXT})*@(?:{_HOST_LABEL}\\.)+[A-Za-z]{{2,63}}$",
}
SLUG = {"type": "string", "pattern": f"^{SLUG_PATTERN.pattern}$"}
EVENT = {"type": "string", "pattern": f"^{EVENT_NAME.pattern}$"}
_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = {"type": "string", "maxLength": 253, "pattern": f"^(?:{_LABEL}\\.){{1,8}}[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$"}


def prefixed_id(prefix: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{prefix}_{ULID_BODY}$", "example": f"{prefix}_01K5AHW6RAPJ0Z8TCM3EDQX1Y7"}


# The path parameter's schema by the collection it names an object of.
_PATH_OBJECTS = {
    "contacts": {"anyOf": [prefixed_id("cnt"), EMAIL], "description": "The contact's id, or its address."},
    "sends": prefixed_id("snd"),
    "scheduled": prefixed_id("sch"),
    "events": prefixed_id("evt"),
    "keys": prefixed_id("key"),
    "enrolments": prefixed_id("enr"),
    "domains": prefixed_id("dom"),
    "templates": SLUG,
    "sequences": SLUG,
}

ZONES = sorted(available_timezones())
QUERY_FORMATS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    "contactId": prefixed_id("cnt"),
    "email": EMAIL,
    "from": {"type": "string", "format": "date-time"},
    "to": {"type": "string", "format": "date-time"},
    "tz": {
        "type": "string",
        "enum": ZONES,
        # GMT+0, GMT-0 and GMT0 would be one name in a generated client's enum: name each.
        "x-enum-varnames": [
            re.sub(r"\W", "_", z.replace("+", "_PLUS_").replace("-", "_MINUS_")).upper() for z in ZONES
        ],
        "default": "UTC",
    },
    "templateId": SLUG,
    "sourceId": SLUG,
    "name": EVENT,  # GET /api/events
}

_REQUEST_ID = {
    "description": "This request's id: the client's own when it sent a valid one, in every log line.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 1}}
_REPLAYED = {
    "description": "true when this is the stored response of an earlier request with the same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}


# Text the database can store: no NUL (kraiter/untrusted.py refuses it, naming the field).
STORABLE = "^[^\\u0000]*$"

# Any JSON value a body may carry in its free-form objects (properties, variables), as the
# server checks it: storable text in keys and values, nested at most 32 deep. Written without
# recursion (generated clients do not follow a recursive union): the rule for text nested
# deeper is stated in the description, and the server enforces it at every depth.
_NESTED = "at most 32 deep; no text in it, at any depth, may contain NUL"
JSON_COMPONENTS: dict[str, Any] = {
    "JsonObject": {
        "type": "object",
        "description": f"A JSON object of at most 64 KB encoded, nested {_NESTED}.",
        "propertyNames": {"pattern": STORABLE},
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
    },
    "JsonValue": {
        "description": f"Any JSON value, nested {_NESTED}.",
        "anyOf": [
            {"type": "string", "pattern": STORABLE},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": {}},
            {"type": "object", "propertyNames": {"pattern": STORABLE}, "additionalProperties": {}},
        ],
    },
}


def _one_of(*fields: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [field]} for field in fields]}


# Rules between a request's fields that the serializers check (each a 400 naming the field).
REQUEST_RULES: dict[str, list[dict[str, Any]]] = {
    "SendCreateRequest": [_one_of("templateId", "template")],
    # Both contactId and email: accepted when they name the same contact (docs/api.md 8), which
    # a schema cannot say; it documents the safe form, one of them.
    "EventCreateRequest": [_one_of("name", "event"), _one_of("contactId", "email")],
    "EnrolRequest": [_one_of("contactId", "email")],
    "TemplatePutRequest": [_one_of("mjml", "html")],
    "TemplatePreviewRequest": [{"not": {"required": ["contactId", "email"]}}],
}


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular's POSTPROCESSING_HOOKS entry (after its own enum hook)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(JSON_COMPONENTS)
    for name, rules in REQUEST_RULES.items():
        if name in schemas:
            schemas[name]["allOf"] = rules
    for field in ("name", "event"):
        schemas["EventCreateRequest"]["properties"][field].update(EVENT)
    schemas["DomainCreateRequest"]["properties"]["domain"].update(DOMAIN)
    # `Name <address>` is accepted too (docs/api.md 5); the schema states the plain address.
    schemas["SendCreateRequest"]["properties"]["from"].update(EMAIL)
    for name, schema in schemas.items():
        if name.endswith("Request"):
            _storable_text(schema)
            # Fields a body does not use are ignored, but stored text is checked everywhere in it.
            schema["additionalProperties"] = {"$ref": "#/components/schemas/JsonValue"}
            schema["propertyNames"] = {"pattern": STORABLE}
    paths: dict[str, Any] = {}
    for path, operations in result["paths"].items():
        path = path.rstrip("/")
        paths[path] = operations
        for method, operation in operations.items():
            _describe(method, path, operation)
            _parameters(path, operation)
            _headers(method, path, operation)
            _body_required(operation)
            add_examples(path, method, operation)
    result["paths"] = paths
    _refer_to_shared_enums(result)
    return result


# Query enums used by several operations, as components of their own.
_QUERY_ENUM_NAMES = {"tz": "TimeZone", "period": "PeriodName"}


def _refer_to_shared_enums(result: dict[str, Any]) -> None:
    """A query parameter whose values are a component's enum refers to it (one enum per set of
    values in a generated client, not one per parameter)."""
    components = result.get("components", {}).get("schemas", {})
    shared = {tuple(sorted(map(str, s["enum"]))): name for name, s in components.items() if "enum" in s}
    for operations in result["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                values = parameter["schema"].get("enum")
                name = shared.get(tuple(sorted(map(str, values)))) if values else None
                if values and name is None and parameter["name"] in _QUERY_ENUM_NAMES:
                    name = _QUERY_ENUM_NAMES[parameter["name"]]
                    components[name] = {k: v for k, v in parameter["schema"].items() if k != "default"}
                    shared[tuple(sorted(map(str, values)))] = name
                if name:
                    parameter["schema"] = {"$ref": f"#/components/schemas/{name}"}


def _storable_text(schema: dict[str, Any]) -> None:
    """Every free text of a request body says it cannot hold a NUL."""
    for field in schema.get("properties", {}).values():
        if field.get("type") == "string" and not ({"pattern", "format", "enum"} & set(field)):
            field["pattern"] = STORABLE
        elif field.get("type") == "array" and field.get("items", {}).get("type") == "string":
            field["items"].setdefault("pattern", STORABLE)


def _body_required(operation: dict[str, Any]) -> None:
    """A body whose rules ask for one of its fields cannot be left out."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    name = content.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    if any("oneOf" in rule for rule in REQUEST_RULES.get(name, [])):
        operation["requestBody"]["required"] = True


def _describe(method: str, path: str, operation: dict[str, Any]) -> None:
    operation_id, summary = OPERATIONS.get((method, path), (operation["operationId"], ""))
    operation["operationId"] = operation_id
    if summary:
        operation["summary"] = summary


def _parameters(path: str, operation: dict[str, Any]) -> None:
    segments = path.split("/")
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            collection = segments[segments.index("{" + parameter["name"] + "}") - 1]
            parameter["schema"] = dict(_PATH_OBJECTS[collection])
        elif parameter["in"] == "query":
            schema = parameter["schema"]
            schema.update(QUERY_FORMATS.get(parameter["name"], {}))
            if schema.get("type") == "string" and "enum" not in schema:
                schema.setdefault("minLength", 1)  # an empty value is a 400, never "absent"
            parameter.setdefault("description", "")
        elif parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
            parameter["schema"] = {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"}


# Operations only a staff session may call (API keys are managed by people, not by programs).
STAFF_ONLY = {("post", "/api/keys"), ("delete", "/api/keys/{id}")}


def _headers(method: str, path: str, operation: dict[str, Any]) -> None:
    if (method, path) in STAFF_ONLY:
        operation["security"] = [{"StaffSession": []}]
    for status, response in operation["responses"].items():
        _error_example(status, response)
        headers = response.setdefault("headers", {})
        headers["X-Request-Id"] = _REQUEST_ID
        if status == "429":
            headers["Retry-After"] = _RETRY_AFTER
        if (method, path) == ("post", "/api/send") and status in ("201", "422"):
            headers["Idempotent-Replayed"] = _REPLAYED


def _error_example(status: str, response: dict[str, Any]) -> None:
    """An error response's example carries its own status's code, not a generic one."""
    from kraiter.api.schema import ERROR_CODES

    code = ERROR_CODES.get(int(status)) if status.isdigit() else None
    content = response.get("content", {}).get("application/json")
    if code and content is not None:
        content["example"] = {"error": {"code": code, "message": response.get("description", "").split(": ", 1)[-1]}}

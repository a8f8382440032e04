"""Checks a real response against what /api/schema/ says it is (OpenAPI 3.0 → JSON Schema)."""

import functools
import re
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


@functools.cache
def openapi_document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return _to_json_schema(SchemaGenerator().get_schema(request=None, public=True))


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` becomes JSON Schema's `null` type."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        elif "$ref" in converted or "allOf" in converted or "oneOf" in converted:
            converted = {"anyOf": [converted, {"type": "null"}]}
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


def _operation(method: str, path: str) -> dict[str, Any]:
    document = openapi_document()
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template.rstrip("/")) + "/?$"
        if re.match(pattern, path.split("?")[0]) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI schema")


def assert_matches_schema(response: Any, method: str, path: str) -> None:
    """The response's status is documented for this operation, and its body fits the schema."""
    operation = _operation(method, path)
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered {status}, which the schema does not list"
    content = operation["responses"][status].get("content")
    if not content:
        assert not response.content, f"{method} {path} {status} has a body the schema does not describe"
        return
    schema = content["application/json"]["schema"]
    document = openapi_document()
    registry = Registry().with_resource("urn:openapi", Resource(contents=document, specification=DRAFT202012))
    wrapped = (
        {"$ref": "urn:openapi#/components/schemas/" + schema["$ref"].rsplit("/", 1)[1]} if "$ref" in schema else schema
    )
    validator = jsonschema.Draft202012Validator(wrapped, registry=registry)
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, (
        f"{method} {path} {status} does not match the schema: {errors[0].message} at {list(errors[0].path)}"
    )


@functools.cache
def raw_openapi_document() -> dict[str, Any]:
    """The schema as /api/schema/ serves it (OpenAPI 3.0)."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))

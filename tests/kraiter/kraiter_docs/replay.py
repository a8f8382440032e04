"""Replaying an example of Kraiter's docs: the request as the page prints it, the response checked
against our OpenAPI schema and against the fields (and their JSON types) the page's example shows."""

from typing import Any

from tests.openapi import assert_matches_schema


def replay(api: Any, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    """One request; its status is the documented one and its body fits /api/schema/."""
    call = getattr(api, method.lower())
    response = call(path) if body is None else call(path, body)
    assert response.status_code == status, (method, path, response.content)
    assert_matches_schema(response, method, path)
    return response.json() if response.content else None


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_shape(actual: Any, documented: Any, where: str = "") -> None:
    """Every field of the documented example is in the response, with the same JSON type; a null
    in the example (a field that may be null) only needs the field. Lists: their first items."""
    if documented is None:
        return
    assert json_type(actual) == json_type(documented), f"{where or 'body'}: {actual!r} is not like {documented!r}"
    if isinstance(documented, dict):
        for key, example in documented.items():
            assert key in actual, f"{where or 'body'} has no field {key!r}"
            assert_shape(actual[key], example, f"{where}.{key}" if where else key)
    elif isinstance(documented, list) and documented and actual:
        assert_shape(actual[0], documented[0], f"{where}[0]")

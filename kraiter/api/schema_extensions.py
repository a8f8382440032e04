"""Tells drf-spectacular how our authentication classes and our own serializer fields appear in
the schema (their patterns and formats, as the server checks them)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension

from kraiter.api.openapi import EMAIL, SLUG, prefixed_id


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "kraiter.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key: kr_ followed by 40 characters."}


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "kraiter.api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "A staff admin session."}


class PrefixedIdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "kraiter.api.fields.PrefixedIdField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return prefixed_id(self.target.prefix)


class EmailAddressFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "kraiter.api.fields.EmailAddressField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return dict(EMAIL)


class SlugFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "kraiter.api.fields.SlugField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return dict(SLUG)


class JsonObjectFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "kraiter.api.fields.JsonObjectField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        if direction == "request":
            return {"$ref": "#/components/schemas/JsonObject"}
        return {"type": "object", "additionalProperties": {}}

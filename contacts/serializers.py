import re
from typing import Any

from rest_framework import serializers

from contacts.emails import normalise_email
from kraiter.api.fields import JsonObjectField, PrefixedIdField, StrictBooleanField, StrictCharField, TimestampField
from kraiter.errors import InvalidInput


class EmailAddressField(StrictCharField):
    """One email address; stored trimmed with a lower-case domain."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return normalise_email(value)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None


class ContactSerializer(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.CharField()
    properties = JsonObjectField()
    suppressed = serializers.BooleanField()
    unsubscribed = serializers.BooleanField()
    suppressionReason = serializers.CharField(source="suppression_reason", allow_null=True)
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


class ContactCreateSerializer(serializers.Serializer):
    email = EmailAddressField()
    properties = JsonObjectField(required=False)


class ContactUpdateSerializer(serializers.Serializer):
    properties = JsonObjectField(
        required=False, help_text="Merged key by key into the contact's properties; a null value removes the key."
    )
    unsubscribed = StrictBooleanField(required=False, help_text="false resubscribes the contact.")
    suppressed = StrictBooleanField(required=False, help_text="true suppresses by hand; false lifts a suppression.")


class EventCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    contactId = PrefixedIdField(prefix="cnt", required=False)
    email = EmailAddressField(required=False)
    properties = JsonObjectField(required=False)
    timestamp = TimestampField(required=False, help_text="When it happened (default: now).")

    def validate_name(self, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,100}", value):
            raise serializers.ValidationError("Must be 1-100 characters of letters, digits, '_', '.', ':' and '-'.")
        return value

    def validate(self, data: dict) -> dict:
        if ("contactId" in data) == ("email" in data):
            raise serializers.ValidationError({"contactId": ["Give exactly one of contactId or email."]})
        return data


class EventSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    contactId = serializers.CharField(source="contact_id")
    properties = JsonObjectField()
    timestamp = TimestampField()
    createdAt = TimestampField(source="created_at")

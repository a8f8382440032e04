from rest_framework import serializers

from contacts.events import EVENT_NAME, EVENT_NAME_RULE
from contacts.models import RESERVED_EVENT_PREFIXES
from kraiter.api.fields import (
    EmailAddressField,
    JsonObjectField,
    PrefixedIdField,
    StrictBooleanField,
    StrictCharField,
    TimestampField,
)


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
    name = StrictCharField(max_length=100, required=False, help_text="The event's name, e.g. signed_up.")
    event = StrictCharField(max_length=100, required=False, help_text="The events guide's spelling of `name`.")
    contactId = PrefixedIdField(prefix="cnt", required=False)
    email = EmailAddressField(
        required=False, help_text="Identifies the contact when contactId is absent (created when new)."
    )
    properties = JsonObjectField(required=False)
    timestamp = TimestampField(required=False, help_text="When it happened (default: now).")

    def validate(self, data: dict) -> dict:
        name = data.pop("event", None)
        if "name" in data and name is not None:
            raise serializers.ValidationError({"name": ["Give the name once, as name or as event."]})
        data["name"] = data.get("name", name)
        if data["name"] is None:
            raise serializers.ValidationError({"name": ["This field is required."]})
        if not EVENT_NAME.fullmatch(data["name"]):
            raise serializers.ValidationError({"name": [EVENT_NAME_RULE]})
        if data["name"].startswith(RESERVED_EVENT_PREFIXES):
            reserved = " and ".join(RESERVED_EVENT_PREFIXES)
            raise serializers.ValidationError({"name": [f"Names starting with {reserved} are reserved."]})
        if "contactId" not in data and "email" not in data:
            raise serializers.ValidationError({"contactId": ["Give contactId or email."]})
        return data


class EventSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    contactId = serializers.CharField(source="contact_id")
    properties = JsonObjectField()
    timestamp = TimestampField()
    sendId = serializers.CharField(source="send_id", allow_null=True, help_text="The send a system event is about.")
    system = serializers.BooleanField(source="is_system", help_text="An email.* event the platform recorded.")
    createdAt = TimestampField(source="created_at")

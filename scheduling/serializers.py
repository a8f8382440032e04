from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kraiter.api.fields import (
    EmailAddressField,
    NullableTimestampField,
    PrefixedIdField,
    SlugField,
    StrictCharField,
    TimestampField,
)
from scheduling.models import Enrolment, ScheduledSend, Sequence


class TriggerSerializer(serializers.Serializer):
    event = serializers.CharField(help_text="The event's name (custom, or a system one such as email.clicked).")
    conditions = serializers.JSONField(
        required=False, help_text="Conditions the contact (and the event) must match (scheduling.conditions)."
    )


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "object"}], "description": "The definition as it was sent: YAML or JSON."}
)
class StoredDefinitionField(serializers.Field):
    def to_representation(self, sequence: Sequence) -> Any:
        return sequence.definition_json if sequence.definition_json is not None else sequence.definition


class SequenceSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Sequence.Status.choices)
    definition = StoredDefinitionField(source="*")
    triggers = TriggerSerializer(many=True, help_text="The events that enrol a contact.")
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "object"}],
        "description": "YAML text, or the same structure as an object with 'steps' (and 'trigger').",
    }
)
class DefinitionField(serializers.Field):
    """YAML text, or the same structure as a JSON object."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, (str, dict)):
            raise serializers.ValidationError("Must be YAML text or an object with 'steps'.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "An event name: short for {event: <name>}."},
            {"$ref": "#/components/schemas/Trigger"},
        ]
    }
)
class TriggerInputField(serializers.Field):
    """A trigger as a client writes it; the definition parser validates it."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, (str, dict)):
            raise serializers.ValidationError("A trigger is an event name or {event, conditions?}.")
        return data


class SequencePutSerializer(serializers.Serializer):
    id = SlugField(required=False, help_text="Must equal the id in the path.")
    name = StrictCharField(max_length=200)
    definition = DefinitionField()
    triggers = serializers.ListField(child=TriggerInputField(), required=False, max_length=50)


class EnrolSerializer(serializers.Serializer):
    contactId = PrefixedIdField(prefix="cnt", required=False)
    email = EmailAddressField(required=False)

    def validate(self, data: dict) -> dict:
        if ("contactId" in data) == ("email" in data):
            raise serializers.ValidationError({"contactId": ["Give exactly one of contactId or email."]})
        return data


class EnrolmentSerializer(serializers.Serializer):
    id = serializers.CharField()
    sequenceId = serializers.CharField(source="sequence_slug")
    contactId = serializers.CharField(source="contact_id")
    email = serializers.CharField(source="contact.email")
    status = serializers.ChoiceField(choices=Enrolment.Status.choices)
    currentStep = serializers.IntegerField(source="current_step", help_text="1-based position in the steps.")
    version = serializers.IntegerField(source="version.number", allow_null=True, default=None)
    enrolledAt = TimestampField(source="created_at")
    endedAt = NullableTimestampField(source="ended_at")
    endedReason = serializers.CharField(source="ended_reason", help_text="Empty while active.")
    createdAt = TimestampField(source="created_at")


class ScheduledSendSerializer(serializers.Serializer):
    id = serializers.CharField()
    contactId = serializers.CharField(source="contact_id")
    email = serializers.CharField(source="contact.email")
    templateId = serializers.CharField(source="template_slug")
    templateName = serializers.SerializerMethodField(method_name="template_name")
    subject = serializers.SerializerMethodField(help_text="The template's subject, unrendered.")
    scheduledFor = TimestampField(source="scheduled_for")
    source = serializers.SerializerMethodField()  # type: ignore[assignment]
    sourceId = serializers.CharField(source="sequence.slug")
    step = serializers.IntegerField()
    createdAt = TimestampField(source="created_at")

    def template_name(self, scheduled: ScheduledSend) -> str:
        return scheduled.template.name if scheduled.template else scheduled.template_slug

    def get_subject(self, scheduled: ScheduledSend) -> str:
        return scheduled.template.subject if scheduled.template else ""

    @extend_schema_field({"$ref": "#/components/schemas/SendSource"})
    def get_source(self, scheduled: ScheduledSend) -> str:
        return "sequence"  # the send it becomes is a sequence send


class TimelineItemSerializer(serializers.Serializer):
    """One item of a contact's timeline (documentation only: the items are built as they are)."""

    type = serializers.ChoiceField(choices=["send", "event", "enrolment", "opt_out"])
    at = TimestampField()
    sendId = serializers.CharField(required=False, allow_null=True, help_text="send; event (system events)")
    templateId = serializers.CharField(required=False, help_text="send")
    subject = serializers.CharField(required=False, help_text="send")
    status = serializers.CharField(required=False, help_text="send")
    source = serializers.CharField(required=False, help_text="send")  # type: ignore[assignment]
    sourceId = serializers.CharField(required=False, allow_null=True, help_text="send")
    step = serializers.IntegerField(required=False, allow_null=True, help_text="send")
    eventId = serializers.CharField(required=False, help_text="event")
    name = serializers.CharField(required=False, help_text="event")
    properties = serializers.DictField(required=False, help_text="event")
    enrolmentId = serializers.CharField(required=False, help_text="enrolment")
    sequenceId = serializers.CharField(required=False, help_text="enrolment")
    change = serializers.CharField(
        required=False,
        help_text="enrolment: enrolled, completed, exited, cancelled; opt_out: unsubscribed, suppressed",
    )
    reason = serializers.CharField(required=False, help_text="enrolment (ended), opt_out (suppressed)")

from rest_framework import serializers

from kraiter.api.fields import (
    EmailAddressField,
    JsonObjectField,
    NullableTimestampField,
    SlugField,
    StrictBooleanField,
    StrictCharField,
    TimestampField,
)
from sends.models import Send


class SendCreateSerializer(serializers.Serializer):
    to = EmailAddressField(help_text="One address; an unknown one creates the contact.")
    templateId = SlugField(required=False, help_text="The template's id (required, or its alias `template`).")
    template = SlugField(required=False, help_text="The guides' spelling of templateId.")
    variables = JsonObjectField(required=False, help_text="Values for the template's Liquid variables.")
    ignoreUnsubscribe = StrictBooleanField(
        required=False, default=False, help_text="Send even to a suppressed or unsubscribed contact."
    )
    replyTo = EmailAddressField(required=False, help_text="The Reply-To address of this email.")
    # `from` is a Python keyword: the field is declared through the class namespace.
    locals()["from"] = StrictCharField(
        required=False,
        max_length=500,
        help_text="`Name <address>` or an address, on a verified domain of yours (else 403 FORBIDDEN).",
    )

    def validate(self, data: dict) -> dict:
        alias = data.pop("template", None)
        if "templateId" in data and alias is not None:
            raise serializers.ValidationError({"templateId": ["Give the template once, as templateId or as template."]})
        data["templateId"] = data.get("templateId", alias)
        if data["templateId"] is None:
            raise serializers.ValidationError({"templateId": ["This field is required."]})
        return data


class SendAcceptedSerializer(serializers.Serializer):
    id = serializers.CharField()
    to = serializers.CharField(source="email")
    templateId = serializers.CharField(source="template_slug")
    status = serializers.ChoiceField(choices=["queued"])
    createdAt = TimestampField(source="created_at")


class SendSerializer(serializers.Serializer):
    id = serializers.CharField()
    contactId = serializers.CharField(source="contact_id", allow_null=True)
    email = serializers.CharField()
    templateId = serializers.CharField(source="template_slug")
    templateName = serializers.CharField(source="template_name")
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=Send.Status.choices)
    source = serializers.ChoiceField(choices=Send.Source.choices)  # type: ignore[assignment]
    sourceId = serializers.CharField(source="source_id", allow_null=True)
    step = serializers.IntegerField(allow_null=True)
    sentAt = NullableTimestampField(source="sent_at")
    deliveredAt = NullableTimestampField(source="delivered_at")
    openedAt = NullableTimestampField(source="opened_at")
    clickedAt = NullableTimestampField(source="clicked_at")
    bouncedAt = NullableTimestampField(source="bounced_at")
    complainedAt = NullableTimestampField(source="complained_at")
    createdAt = TimestampField(source="created_at")


class UncertainAttemptSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.CharField(help_text="When the attempt's outcome was found unknown (ISO 8601, UTC).")
    error = serializers.CharField(help_text="What was lost: SES's answer, or the worker making the attempt.")
    resolution = serializers.CharField(
        help_text="Empty while open; else what settled it: confirmed by an SES event, resent as attempt N, "
        "not resent (and why), or accepted (a copy SES took after another attempt)."
    )


class SendDetailSerializer(SendSerializer):
    """GET /api/sends/:id: the send, and the attempts SES may have accepted without our knowing
    (empty for nearly every send). A resent attempt is marked here; so is a second copy."""

    uncertainAttempts = UncertainAttemptSerializer(source="uncertain_attempts", many=True)

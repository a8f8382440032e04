from rest_framework import serializers

from contacts.serializers import EmailAddressField
from kraiter.api.fields import JsonObjectField, NullableTimestampField, SlugField, StrictBooleanField, TimestampField


class SendRequestSerializer(serializers.Serializer):
    to = EmailAddressField(help_text="One address; an unknown one creates the contact.")
    templateId = SlugField()
    variables = JsonObjectField(required=False, help_text="Values for the template's Liquid variables.")
    ignoreUnsubscribe = StrictBooleanField(
        required=False, default=False, help_text="Send even to a suppressed or unsubscribed contact."
    )


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
    status = serializers.ChoiceField(choices=["queued", "sent", "delivered", "bounced", "complained", "rejected"])
    source = serializers.ChoiceField(choices=["transactional", "sequence"])  # type: ignore[assignment]
    sourceId = serializers.CharField(source="source_id", allow_null=True)
    step = serializers.IntegerField(allow_null=True)
    sentAt = NullableTimestampField(source="sent_at")
    deliveredAt = NullableTimestampField(source="delivered_at")
    openedAt = NullableTimestampField(source="opened_at")
    clickedAt = NullableTimestampField(source="clicked_at")
    bouncedAt = NullableTimestampField(source="bounced_at")
    complainedAt = NullableTimestampField(source="complained_at")
    createdAt = TimestampField(source="created_at")

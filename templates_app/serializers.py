from rest_framework import serializers

from kraiter.api.fields import (
    EmailAddressField,
    JsonObjectField,
    PrefixedIdField,
    SlugField,
    StrictCharField,
    TimestampField,
)


class UnsetAsNullField(serializers.CharField):
    """A sender override: stored empty when not set, shown as null."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(allow_null=True, **kwargs)  # type: ignore[arg-type]

    def to_representation(self, value: str) -> str | None:  # type: ignore[override]
        return value or None


class TemplateSerializer(serializers.Serializer):
    id = serializers.CharField(source="slug")
    name = serializers.CharField()
    subject = serializers.CharField()
    mjml = serializers.CharField(allow_null=True)
    html = serializers.CharField(help_text="The HTML body: as given, or compiled from the MJML.")
    text = serializers.CharField(allow_null=True)
    variables = serializers.ListField(child=serializers.CharField())
    fromName = UnsetAsNullField(source="from_name", help_text="null: the organisation's sender name.")
    fromEmail = UnsetAsNullField(source="from_email", help_text="null: the organisation's From address.")
    replyTo = UnsetAsNullField(source="reply_to", help_text="null: the organisation's Reply-To.")
    version = serializers.IntegerField()
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


class TemplatePutSerializer(serializers.Serializer):
    id = SlugField(required=False, help_text="Must equal the id in the path.")
    name = StrictCharField(max_length=200)
    subject = StrictCharField(max_length=998)
    mjml = StrictCharField(required=False, trim_whitespace=False)
    html = StrictCharField(required=False, trim_whitespace=False)
    text = StrictCharField(required=False, allow_null=True, trim_whitespace=False)
    variables = serializers.ListField(child=StrictCharField(max_length=200), required=False, max_length=200)
    fromName = StrictCharField(max_length=200, required=False, allow_null=True, help_text="Overrides the sender name.")
    fromEmail = EmailAddressField(
        required=False, allow_null=True, help_text="Overrides the From address: on a verified domain of yours."
    )
    replyTo = EmailAddressField(required=False, allow_null=True, help_text="Overrides the Reply-To address.")

    def validate(self, data: dict) -> dict:
        if ("mjml" in data) == ("html" in data):
            raise serializers.ValidationError({"mjml": ["Give exactly one of 'mjml' or 'html'."]})
        return data


class TemplatePreviewSerializer(serializers.Serializer):
    variables = JsonObjectField(required=False)
    contactId = PrefixedIdField(prefix="cnt", required=False)
    email = EmailAddressField(required=False)

    def validate(self, data: dict) -> dict:
        if "contactId" in data and "email" in data:
            raise serializers.ValidationError({"contactId": ["Give contactId or email, not both."]})
        return data


class TemplatePreviewResultSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()
    missingVariables = serializers.ListField(child=serializers.CharField())

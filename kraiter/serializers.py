from rest_framework import serializers

from kraiter.api.fields import EmailAddressField, StrictCharField, TimestampField
from kraiter.models import Organisation


class TenantSerializer(serializers.Serializer):
    tenantId = serializers.CharField(source="id")
    name = serializers.CharField()
    sendingStatus = serializers.ChoiceField(
        source="sending_status",
        choices=Organisation.SendingStatus.choices,
        help_text="enabled; paused (nothing is sent); sandbox (mail only to sandboxWhitelist).",
    )
    plan = serializers.CharField()
    sandboxWhitelist = serializers.ListField(
        source="sandbox_whitelist", child=serializers.CharField(), help_text="Addresses a sandboxed tenant may mail."
    )
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


class ApiKeySerializer(serializers.Serializer):
    keyId = serializers.CharField(source="id")
    name = serializers.CharField()
    keyPrefix = serializers.CharField(source="key_prefix")
    createdAt = TimestampField(source="created_at")
    lastUsedAt = TimestampField(source="last_used_at", allow_null=True)
    revokedAt = TimestampField(source="revoked_at", allow_null=True)


class CreatedApiKeySerializer(ApiKeySerializer):
    rawKey = serializers.CharField(help_text="The key itself. Shown only in this response: store it now.")


class ApiKeyCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)


class SandboxWhitelistSerializer(serializers.Serializer):
    """Kraiter's SandboxWhitelistResponse: `{emails: [...]}` (the tenant object calls the list sandboxWhitelist)."""

    emails = serializers.ListField(source="sandbox_whitelist", child=serializers.CharField())


class SandboxAddressSerializer(serializers.Serializer):
    email = EmailAddressField()

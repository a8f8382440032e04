from rest_framework import serializers

from domains.models import Domain
from kraiter.api.fields import NullableTimestampField, StrictCharField, TimestampField


class DnsRecordSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["CNAME", "MX", "TXT"])
    name = serializers.CharField()
    value = serializers.CharField()
    purpose = serializers.ChoiceField(
        choices=["dkim", "mail_from", "spf", "dmarc"],
        help_text="dkim: proves ownership and signs mail; mail_from and spf: the custom MAIL FROM "
        "subdomain (bounces, SPF alignment); dmarc: a suggested policy to start with.",
    )


class DomainSerializer(serializers.Serializer):
    id = serializers.CharField()
    domain = serializers.CharField(source="name")
    status = serializers.ChoiceField(choices=list(Domain.Status.values))
    sendingEnabled = serializers.BooleanField(source="sending_enabled")
    dnsRecords = DnsRecordSerializer(source="dns_records", many=True)
    failureReason = serializers.CharField(
        source="failure_reason", allow_null=True, help_text="Why it is not verified (yet), as SES says."
    )
    lastCheckedAt = NullableTimestampField(source="last_checked_at")
    verifiedAt = NullableTimestampField(source="verified_at")
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


class DomainCreateSerializer(serializers.Serializer):
    domain = StrictCharField(max_length=300, help_text="The domain to send from, e.g. mail.example.com.")

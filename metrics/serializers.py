"""The shape of a metrics response, for the OpenAPI schema."""

from typing import cast

from rest_framework import serializers

from kraiter.api.fields import TimestampField
from sends.models import COUNTERS


def _counters(name: str, **extra: serializers.Field) -> type[serializers.Serializer]:
    fields: dict[str, serializers.Field] = {counter: serializers.IntegerField() for counter in COUNTERS}
    return cast(type[serializers.Serializer], type(name, (serializers.Serializer,), {**extra, **fields}))


CountersSerializer = _counters("CountersSerializer")
PointSerializer = _counters("PointSerializer", timestamp=TimestampField(help_text="The start of the period."))
MetricsSerializer = cast(
    type[serializers.Serializer],
    type(
        "MetricsSerializer",
        (serializers.Serializer,),
        {
            "period": serializers.ChoiceField(choices=["hour", "day", "week", "month"]),
            "from": TimestampField(),
            "to": TimestampField(),
            "totals": CountersSerializer(),
            "timeseries": PointSerializer(many=True),
        },
    ),
)

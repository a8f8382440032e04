import django_filters

from kraiter.api.filters import EnumFilter
from scheduling.models import Sequence


class SequenceFilter(django_filters.FilterSet):
    status = EnumFilter(choices=list(Sequence.Status.values))

    class Meta:
        model = Sequence
        fields: list[str] = []

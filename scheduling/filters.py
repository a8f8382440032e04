import django_filters
from django.db.models import QuerySet

from kraiter.api.filters import EnumFilter
from scheduling.models import Enrolment, ScheduledSend, Sequence


class SequenceFilter(django_filters.FilterSet):
    status = EnumFilter(choices=list(Sequence.Status.values))

    class Meta:
        model = Sequence
        fields: list[str] = []


class ScheduledSendFilter(django_filters.FilterSet):
    """`status` as Kraiter's SDK sends it: every scheduled send listed is pending; a cancelled one
    is removed, not kept, so `cancelled` lists none."""

    status = EnumFilter(choices=["pending", "cancelled"], method="filter_status")

    class Meta:
        model = ScheduledSend
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[ScheduledSend], name: str, value: str) -> QuerySet[ScheduledSend]:
        return queryset if value == "pending" else queryset.none()


class EnrolmentFilter(django_filters.FilterSet):
    status = EnumFilter(choices=list(Enrolment.Status.values))

    class Meta:
        model = Enrolment
        fields: list[str] = []

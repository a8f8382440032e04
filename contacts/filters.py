import django_filters

from contacts.models import Contact
from kraiter.api.filters import StrictBooleanFilter


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="email", lookup_expr="icontains", max_length=254)
    suppressed = StrictBooleanFilter()
    unsubscribed = StrictBooleanFilter()

    class Meta:
        model = Contact
        fields: list[str] = []

from typing import Any, cast

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import QuerySet, Subquery
from django.db.models.functions import Lower

from contacts.events import EVENT_NAME, EVENT_NAME_RULE
from contacts.models import Contact, Event
from kraiter.api.authentication import Principal
from kraiter.api.filters import PrefixedIdFilter, StrictBooleanFilter, TimestampFilter
from kraiter.emails import email_lookup_key, normalise_email
from kraiter.errors import InvalidInput


def check_email(value: str) -> None:
    """A filter's validator: one valid address."""
    try:
        normalise_email(value)
    except InvalidInput as exc:
        raise ValidationError(exc.message) from None


class ContactFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="email", lookup_expr="icontains", max_length=254)
    email = django_filters.CharFilter(method="filter_email", max_length=254, validators=[check_email])
    suppressed = StrictBooleanFilter()
    unsubscribed = StrictBooleanFilter()

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_email(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        """An exact, case-insensitive match (the SDK's getByEmail), through the unique index."""
        return queryset.alias(email_key=Lower("email")).filter(email_key=email_lookup_key(normalise_email(value)))


class EventFilter(django_filters.FilterSet):
    contactId = PrefixedIdFilter(field_name="contact_id", prefix="cnt")
    email = django_filters.CharFilter(method="filter_email", max_length=254, validators=[check_email])
    name = django_filters.CharFilter(
        max_length=100, validators=[RegexValidator(f"^{EVENT_NAME.pattern}$", EVENT_NAME_RULE)]
    )
    # When the event happened (its timestamp): from inclusive, to exclusive.
    from_ = TimestampFilter(field_name="timestamp", lookup_expr="gte")
    to = TimestampFilter(field_name="timestamp", lookup_expr="lt")

    query_names = ("from",)  # from_ is read as ?from=

    class Meta:
        model = Event
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["from"] = self.filters.pop("from_")

    def filter_email(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        """The events of the organisation's contact with this address (the list is the organisation's).
        The contact is found first (one row of the unique index, a scalar subquery): compared with
        one value, contact_id lets the list walk the contact's own index in order, where a join
        would fetch and sort all of the contact's events."""
        organisation = cast(Principal, self.request.user).organisation if self.request is not None else None
        if organisation is None:
            return queryset.alias(contact_email=Lower("contact__email")).filter(contact_email=email_lookup_key(value))
        contact = (
            Contact.objects.filter(organisation=organisation)
            .alias(email_key=Lower("email"))
            .filter(email_key=email_lookup_key(value))
            .values("id")[:1]
        )
        return queryset.filter(contact_id=Subquery(contact))

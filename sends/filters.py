from typing import Any

import django_filters
from django.db.models import QuerySet
from django.db.models.functions import Lower

from contacts.filters import check_email
from kraiter.api.filters import EnumFilter, PrefixedIdFilter, SlugFilter
from kraiter.emails import email_lookup_key, normalise_email
from sends.models import Send


class SendFilter(django_filters.FilterSet):
    status = EnumFilter(choices=list(Send.Status.values))
    contactId = PrefixedIdFilter(field_name="contact_id", prefix="cnt")
    templateId = SlugFilter(field_name="template_slug")
    source = EnumFilter(choices=list(Send.Source.values))
    sourceId = SlugFilter(field_name="source_id")
    email = django_filters.CharFilter(method="filter_email", max_length=254, validators=[check_email])

    class Meta:
        model = Send
        fields: list[str] = []

    def filter_email(self, queryset: QuerySet[Send], name: str, value: str) -> QuerySet[Send]:
        key = email_lookup_key(normalise_email(value))
        return queryset.alias(email_key=Lower("email")).filter(email_key=key)


class ContactSendFilter(SendFilter):
    """The same filters under /api/contacts/:id/sends, where the contact is the path's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters.pop("contactId")

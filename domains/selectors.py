from django.db.models import QuerySet

from domains.models import Domain
from kraiter.api.ids import get_by_id
from kraiter.api.pagination import of_organisation
from kraiter.models import Organisation


def domain_get(*, organisation: Organisation, domain_id: str) -> Domain:
    return get_by_id(Domain.objects.filter(organisation=organisation), domain_id, "dom")


def domain_list(*, organisation: Organisation) -> QuerySet[Domain]:
    return of_organisation(Domain.objects.all(), organisation)


def sending_domain(*, organisation: Organisation, name: str) -> Domain | None:
    """This organisation's domain `name` when mail may leave from it (verified, sending enabled)."""
    return Domain.objects.filter(
        organisation=organisation, name=name.lower(), status=Domain.Status.VERIFIED, sending_enabled=True
    ).first()

from django.db.models import QuerySet

from domains.models import Domain
from kraiter.api.ids import require_id
from kraiter.api.pagination import of_organisation
from kraiter.errors import NotFound
from kraiter.models import Organisation


def domain_get(*, organisation: Organisation, domain_id: str) -> Domain:
    require_id(domain_id, "dom")
    domain = Domain.objects.filter(organisation=organisation, pk=domain_id).first()
    if domain is None:
        raise NotFound(f"No domain {domain_id}.")
    return domain


def domain_list(*, organisation: Organisation) -> QuerySet[Domain]:
    return of_organisation(Domain.objects.all(), organisation)


def sending_domain(*, organisation: Organisation, name: str) -> Domain | None:
    """This organisation's domain `name` when mail may leave from it (verified, sending enabled)."""
    return Domain.objects.filter(
        organisation=organisation, name=name.lower(), status=Domain.Status.VERIFIED, sending_enabled=True
    ).first()

from django.db.models import QuerySet

from kraiter.api.ids import get_by_id
from kraiter.api.pagination import of_organisation
from kraiter.models import Organisation
from sends.models import Send


def send_list(*, organisation: Organisation) -> QuerySet[Send]:
    return of_organisation(Send.objects.all(), organisation)


def send_get(*, organisation: Organisation, send_id: str) -> Send:
    return get_by_id(Send.objects.filter(organisation=organisation), send_id, "snd")

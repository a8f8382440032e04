from django.db.models import QuerySet

from kraiter.api.ids import require_id
from kraiter.api.pagination import of_organisation
from kraiter.errors import NotFound
from kraiter.models import Organisation
from sends.models import Send


def send_list(*, organisation: Organisation) -> QuerySet[Send]:
    return of_organisation(Send.objects.all(), organisation)


def send_get(*, organisation: Organisation, send_id: str) -> Send:
    require_id(send_id, "snd")
    send = Send.objects.filter(organisation=organisation, pk=send_id).first()
    if send is None:
        raise NotFound(f"No send {send_id}.")
    return send

from django.db.models import QuerySet

from kraiter.api.fields import require_slug
from kraiter.api.pagination import of_organisation
from kraiter.errors import NotFound
from kraiter.models import Organisation
from templates_app.models import Template


def require_template_id(template_id: str) -> str:
    return require_slug(template_id, "template")


def template_get(*, organisation: Organisation, template_id: str) -> Template:
    require_template_id(template_id)
    template = Template.objects.filter(organisation=organisation, slug=template_id).first()
    if template is None:
        raise NotFound(f"No template '{template_id}'.")
    return template


def template_list(*, organisation: Organisation) -> QuerySet[Template]:
    return of_organisation(Template.objects.all(), organisation)

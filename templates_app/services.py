"""The only writers of templates."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from kraiter.errors import InvalidInput
from kraiter.models import Organisation
from templates_app.models import Template
from templates_app.rendering import TemplateError, check_template_source
from templates_app.signals import template_deleting


@dataclass(frozen=True)
class TemplateInput:
    name: str
    subject: str
    mjml: str | None
    html: str | None
    text: str | None
    variables: list[str]
    from_name: str = ""
    from_email: str = ""
    reply_to: str = ""


_SENDER_FIELDS = ("from_name", "from_email", "reply_to")


def template_upsert(*, organisation: Organisation, slug: str, data: TemplateInput) -> tuple[Template, bool]:
    """Creates or replaces a template; (template, created). The version goes up only when the
    subject, body, text or variables really change."""
    if (data.mjml is None) == (data.html is None):
        raise InvalidInput("Give exactly one of 'mjml' or 'html'.", details={"mjml": ["Exactly one of mjml/html."]})
    try:
        checked = check_template_source(subject=data.subject, mjml=data.mjml, html=data.html, text=data.text)
    except TemplateError as exc:
        raise InvalidInput(
            f"The template's {exc.part} has an error on line {exc.line}: {exc.reason}",
            details={exc.part: [f"line {exc.line}: {exc.reason}"]},
        ) from None
    fields = {
        "name": data.name,
        "subject": data.subject,
        "mjml": data.mjml,
        "html": checked.html,
        "text": data.text,
        "text_template": checked.text_template,
        "variables": data.variables,
        "from_name": data.from_name,
        "from_email": data.from_email,
        "reply_to": data.reply_to,
    }
    for _attempt in range(2):
        with transaction.atomic():
            template = Template.objects.select_for_update().filter(organisation=organisation, slug=slug).first()
            if template is None:
                try:
                    with transaction.atomic():
                        return Template.objects.create(organisation=organisation, slug=slug, **fields), True
                except IntegrityError:
                    continue  # created concurrently: update it instead
            content_changed = any(
                getattr(template, name) != fields[name] for name in ("subject", "mjml", "html", "text", "variables")
            )
            sender_changed = any(getattr(template, name) != fields[name] for name in _SENDER_FIELDS)
            if content_changed or sender_changed or template.name != data.name:
                for name, value in fields.items():
                    setattr(template, name, value)
                if content_changed:
                    template.version += 1
                template.save()
            return template, False
    raise RuntimeError("template upsert kept colliding")  # pragma: no cover - two collisions in a row


def template_delete(*, template: Template) -> None:
    """Deletes a template; Conflict (from a receiver) when an active sequence uses it.
    Sends keep the template's id and name."""
    with transaction.atomic():
        template_deleting.send(sender=Template, template=template)
        template.delete()

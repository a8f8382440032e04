"""factory-boy factories: the smallest valid objects, overridden where a test cares."""

from typing import Any

import factory

from contacts.models import Contact
from kraiter.models import Organisation
from sends.models import Send
from templates_app.models import Template
from templates_app.rendering import check_template_source


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    sending_status = Organisation.SendingStatus.ENABLED  # new tenants start in sandbox; most tests need one that sends


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organisation = factory.SubFactory(OrganisationFactory)
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    properties = factory.LazyFunction(dict)


class TemplateFactory(factory.django.DjangoModelFactory):
    """An HTML template (MJML ones go through the API in the tests that care)."""

    class Meta:
        model = Template

    organisation = factory.SubFactory(OrganisationFactory)
    slug = factory.Sequence(lambda n: f"template-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    subject = "Hello {{ firstName }}"
    html = '<p>Hi {{ firstName }}</p><p><a href="https://example.com/docs">Docs</a></p>'
    text = None
    variables = factory.LazyFunction(lambda: ["firstName"])

    @classmethod
    def _create(cls, model_class: type[Template], *args: Any, **kwargs: Any) -> Template:
        checked = check_template_source(
            subject=kwargs["subject"], mjml=None, html=kwargs["html"], text=kwargs.get("text")
        )
        kwargs["text_template"] = checked.text_template
        return super()._create(model_class, *args, **kwargs)


class SendFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Send

    organisation = factory.SubFactory(OrganisationFactory)
    contact = factory.SubFactory(ContactFactory, organisation=factory.SelfAttribute("..organisation"))
    email = factory.LazyAttribute(lambda send: send.contact.email)
    template_slug = "welcome"
    template_name = "Welcome"
    subject = "Welcome!"
    status = "queued"
    source = "transactional"

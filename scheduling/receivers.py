"""Scheduling's answers to what contacts and templates tell it (connected in SchedulingConfig.ready)."""

from typing import Any

from django.dispatch import receiver

from contacts.models import Contact
from contacts.signals import contact_opted_out
from kraiter.errors import Conflict
from scheduling import services
from templates_app.models import Template
from templates_app.signals import template_deleting


@receiver(contact_opted_out)
def cancel_scheduled_sends_of_opted_out_contact(sender: Any, contact: Contact, reason: str, **kwargs: Any) -> None:
    services.contact_enrolments_cancel(contact=contact, reason=f"contact {reason}")


@receiver(template_deleting)
def refuse_deleting_a_template_in_use(sender: Any, template: Template, **kwargs: Any) -> None:
    used = services.templates_used_by_active_sequences(organisation=template.organisation, slugs=[template.slug])
    if used:
        raise Conflict(f"Template '{template.slug}' is used by an active sequence; pause or change it first.")

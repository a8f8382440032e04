"""A realistic demo data set, made through the services so every number adds up."""

import random
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contact_get_or_create, contact_unsubscribe, contact_update
from kraiter.management.base import WritingCommand
from kraiter.models import Organisation
from kraiter.progress import ProgressBar
from kraiter.services import organisation_create
from scheduling.models import Sequence
from scheduling.services import enrolment_create, sequence_activate, sequence_pause, sequence_upsert
from sends.engagement.pipeline import EngagementFact, engagement_record
from sends.models import EngagementKind, Send
from sends.services import SendOrigin, send_build, send_save_many
from templates_app.models import Template
from templates_app.services import TemplateInput, template_upsert

FIRST = (
    "Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent Victor Zoë"
).split()
LAST = "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Müller García Kowalski Nakamura".split()
DOMAINS = ["example.com", "example.org", "mail.example.net", "shop.example"]
TEMPLATES = {
    "welcome-email": ("Welcome Email", "Welcome, {{ firstName }}!", "Thanks for joining, {{ firstName }}."),
    "getting-started": ("Getting Started Guide", "Getting started with Kraiter", "Here is how to begin."),
    "tips-and-tricks": ("Tips and Tricks", "Kraiter tips and tricks", "Three tips to get more done."),
    "password-reset": ("Password reset", "Reset your password", "Use the link below within 24 hours."),
    "receipt": ("Receipt", "Your receipt {{ orderId }}", "Thanks for your order {{ orderId }}."),
}
# Its own slug, so a sequence you made (the README's `onboarding`) is never touched.
SEQUENCE_SLUG = "demo-onboarding"
ONBOARDING = """trigger:
  event: signed_up
steps:
  - send: welcome-email
  - delay: 1d
  - send: getting-started
  - delay: 3d
  - send: tips-and-tricks
"""


class Command(WritingCommand):
    help = (
        "Fills an organisation with a realistic demo: contacts, five templates, an onboarding sequence, "
        "a month of sends with deliveries, opens, clicks, bounces and complaints, and emails still "
        "scheduled (held: the demo sequence is left paused). Nothing is mailed, and templates or "
        "sequences that already exist are left as they are. Run it again to add more."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--organisation", default="Demo", help="Name of the organisation (created if missing).")
        parser.add_argument("--contacts", type=int, default=300, help="How many contacts to add (default 300).")
        parser.add_argument("--days", type=int, default=30, help="How many days of history (default 30).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed, for the same data twice.")

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        organisation = Organisation.objects.filter(name=options["organisation"]).first()
        organisation = organisation or organisation_create(name=options["organisation"], sending_status="enabled")
        templates = self._templates(organisation)
        sequence, new_sequence = self._sequence(organisation)
        now = timezone.now()
        bar = ProgressBar("Seeding contacts", stream=self.stderr, unit="contacts")
        sends = 0
        recent: list[Contact] = []
        for number in range(options["contacts"]):
            with transaction.atomic():
                contact = self._contact(organisation, rng)
                joined = now - timedelta(days=rng.uniform(0, options["days"]), minutes=rng.uniform(0, 60))
                sends += self._history(organisation, contact, templates, rng, joined, now)
            if now - joined < timedelta(days=2):
                recent.append(contact)
            bar(number + 1, options["contacts"])
        bar.close()
        enrolled = self._enrol_held(sequence, recent, now) if new_sequence else 0
        self.stdout.write(
            f"{organisation.name} ({organisation.id}): {options['contacts']} contacts, {sends} sends, "
            f"{enrolled} enrolled in {SEQUENCE_SLUG} (paused: nothing is mailed)."
        )

    def _enrol_held(self, sequence: Sequence, contacts: list[Contact], now: Any) -> int:
        """Enrols and pauses in one transaction: no dispatcher ever sees a scheduled send not held."""
        with transaction.atomic():
            sequence = sequence_activate(sequence=sequence)
            enrolled = 0
            for contact in contacts:
                if Contact.objects.get(pk=contact.pk).can_receive:
                    enrolment_create(sequence=sequence, contact=contact, now=now)
                    enrolled += 1
            sequence_pause(sequence=sequence)
        return enrolled

    def _templates(self, organisation: Organisation) -> dict[str, Template]:
        for slug, (name, subject, line) in TEMPLATES.items():
            html = (
                f"<html><body><h1>{subject}</h1><p>{line}</p>"
                '<p><a href="https://example.com/app">Open the app</a></p>'
                '<p style="font-size:11px"><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p></body></html>'
            )
            if Template.objects.filter(organisation=organisation, slug=slug).exists():
                continue  # yours, or made by an earlier run: left as it is
            template_upsert(
                organisation=organisation,
                slug=slug,
                data=TemplateInput(name=name, subject=subject, mjml=None, html=html, text=None, variables=[]),
            )
        return {t.slug: t for t in Template.objects.filter(organisation=organisation)}

    def _sequence(self, organisation: Organisation) -> tuple[Sequence, bool]:
        """The demo sequence, made on the first run only (a later run adds history, no enrolments)."""
        existing = Sequence.objects.filter(organisation=organisation, slug=SEQUENCE_SLUG).first()
        if existing is not None:
            return existing, False
        sequence, _ = sequence_upsert(
            organisation=organisation, slug=SEQUENCE_SLUG, name="Onboarding (demo)", definition=ONBOARDING
        )
        return sequence, True

    def _contact(self, organisation: Organisation, rng: random.Random) -> Contact:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}.{rng.randint(1, 9999)}".lower().replace("ü", "u").replace("í", "i").replace("ë", "e")
        contact, _ = contact_get_or_create(organisation=organisation, email=f"{local}@{rng.choice(DOMAINS)}")
        plan = rng.choices(["free", "pro", "team"], weights=[6, 3, 1])[0]
        properties = {
            "firstName": first,
            "lastName": last,
            "plan": plan,
            "country": rng.choice(["GB", "DE", "US", "IN"]),
        }
        return contact_update(contact=contact, properties=properties)

    def _history(self, organisation: Organisation, contact: Contact, templates: dict[str, Template],
                 rng: random.Random, joined: Any, now: Any) -> int:  # fmt: skip
        """The mail a contact got since joining, and what happened to each."""
        plan = [("welcome-email", 0.0, SendOrigin(Send.Source.SEQUENCE, SEQUENCE_SLUG, 1))]
        if now - joined > timedelta(days=1):
            plan.append(("getting-started", 1.0, SendOrigin(Send.Source.SEQUENCE, SEQUENCE_SLUG, 2)))
        if now - joined > timedelta(days=4):
            plan.append(("tips-and-tricks", 4.0, SendOrigin(Send.Source.SEQUENCE, SEQUENCE_SLUG, 3)))
        for _ in range(rng.choice([0, 0, 1, 2])):
            plan.append(
                (rng.choice(["password-reset", "receipt"]), rng.uniform(0, (now - joined).days or 0.5), SendOrigin())
            )
        count = 0
        for slug, after_days, origin in sorted(plan, key=lambda item: item[1]):
            at = joined + timedelta(days=after_days, minutes=rng.uniform(0, 30))
            if at >= now or not Contact.objects.get(pk=contact.pk).can_receive:
                continue
            variables = {"orderId": f"#{rng.randint(1000, 9999)}"}
            new = send_build(
                organisation=organisation, contact=contact, template=templates[slug], variables=variables,
                origin=origin, created_at=at,
            )  # fmt: skip
            send_save_many([new], deliver=False)
            for kind, minutes in self._outcome(rng):
                moment = at + timedelta(minutes=minutes)
                permanent = kind == EngagementKind.BOUNCED
                engagement_record(EngagementFact(kind, moment, send_id=new.send.id, permanent=permanent))
            count += 1
        if rng.random() < 0.03:
            contact_unsubscribe(contact=contact)
        return count

    def _outcome(self, rng: random.Random) -> list[tuple[EngagementKind, float]]:
        kind = EngagementKind
        roll = rng.random()
        if roll < 0.03:
            return [(kind.SENT, 0), (kind.BOUNCED, 1)]
        facts = [(kind.SENT, 0), (kind.DELIVERED, rng.uniform(0.1, 2))]
        if roll < 0.04:
            return [*facts, (kind.COMPLAINED, rng.uniform(60, 600))]
        if roll < 0.5:
            facts.append((kind.OPENED, rng.uniform(5, 2000)))
            if roll < 0.2:
                facts.append((kind.CLICKED, rng.uniform(2000, 2100)))
        return facts

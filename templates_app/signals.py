"""Hooks for the apps that use templates (they connect in their AppConfig.ready)."""

from django.dispatch import Signal

# Sent before a template is deleted; a receiver raises kraiter.errors.Conflict to refuse it
# (scheduling does, for a template that an active sequence uses). kwargs: template.
template_deleting = Signal()

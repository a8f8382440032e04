from typing import Any

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self) -> None:
        from sends.signals import send_event_recorded

        send_event_recorded.connect(count_send_event, dispatch_uid="metrics-rollups")


def count_send_event(sender: Any, send: Any, event: str, at: Any, previous_at: Any = None, **kwargs: Any) -> None:
    """Receiver of sends' send_event_recorded: one call to the rollup service."""
    from metrics.rollups import rollup_record

    rollup_record(send=send, event=event, at=at, previous_at=previous_at)

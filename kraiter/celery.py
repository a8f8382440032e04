"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kraiter.settings")

app = Celery("kraiter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Worker and beat log as the web server does (settings.LOGGING): one format, and the
    per-second ticks of beat and the worker kept at DEBUG."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)

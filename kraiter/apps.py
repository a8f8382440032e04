from django.apps import AppConfig


class KraiterConfig(AppConfig):
    name = "kraiter"
    verbose_name = "Platform"

    def ready(self) -> None:
        from kraiter.api import schema_extensions  # noqa: F401  (registers with drf-spectacular)

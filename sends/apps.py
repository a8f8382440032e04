from django.apps import AppConfig


class SendsConfig(AppConfig):
    name = "sends"

    def ready(self) -> None:
        from sends.engagement import receivers  # noqa: F401  (connects to django-ses's signals)

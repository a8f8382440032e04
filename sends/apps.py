from django.apps import AppConfig


class SendsConfig(AppConfig):
    name = "sends"

    def ready(self) -> None:
        from sends import receivers

        receivers.connect()

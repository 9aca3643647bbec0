from django.apps import AppConfig


class AimakerConfig(AppConfig):
    name = "aimaker"
    verbose_name = "AI Maker"

    def ready(self) -> None:
        from aimaker import metrics

        metrics.register()

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Using models"

    def ready(self) -> None:
        from inference import signals  # noqa: F401 - connects the receivers
        from inference.panels import model_cards, project_panel
        from inference.services import model_versions_sweep, predictions_prune
        from projects import cards, panels
        from projects.work import sweeper_register

        panels.register(project_panel)
        cards.register(model_cards)
        sweeper_register(predictions_prune)
        sweeper_register(model_versions_sweep)

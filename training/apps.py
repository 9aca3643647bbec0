from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        from projects import panels, snapshot
        from training.services import training_snapshot
        from training.views import project_panel

        snapshot.register(training_snapshot)
        panels.register(project_panel)

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        from projects import cards, panels, snapshot
        from projects.work import sweeper_register
        from training.services import (
            training_cards,
            training_runs_fail_stale,
            training_runs_sweep,
            training_snapshot,
        )
        from training.views import project_panel

        snapshot.register(training_snapshot)
        cards.register(training_cards)
        panels.register(project_panel)
        sweeper_register(training_runs_fail_stale)
        sweeper_register(training_runs_sweep)

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        from datasets.signals import images_collected
        from projects import cards, panels, snapshot
        from projects.work import sweeper_register
        from training.services import (
            training_cards,
            training_runs_fail_stale,
            training_runs_sweep,
            training_snapshot,
        )
        from training.services.offtopic import offtopic_on_collected
        from training.views import project_panel

        snapshot.register(training_snapshot)
        cards.register(training_cards)
        panels.register(project_panel)
        sweeper_register(training_runs_fail_stale)
        images_collected.connect(offtopic_on_collected, dispatch_uid="training_offtopic_check")
        sweeper_register(training_runs_sweep)

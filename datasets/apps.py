from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"

    def ready(self) -> None:
        # Imported for their side effects: signal receivers, the collection snapshot.
        from datasets import collect, panels, signals  # noqa: F401
        from datasets.uploads import sweep_stale
        from projects import cards, snapshot
        from projects import panels as project_panels
        from projects.work import sweeper_register

        project_panels.register(panels.data_panel)
        snapshot.register(panels.data_snapshot)
        cards.register(panels.data_cards)
        sweeper_register(sweep_stale)  # abandoned ZIP uploads

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        from projects.services import jobs_fail_stale
        from projects.work import sweeper_register

        sweeper_register(jobs_fail_stale)

from django.core.management.base import CommandParser

from inference import cli, services


class Command(cli.ProjectCommand):
    help = "List a project's model versions with their metrics; * marks the default."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_project_arguments(parser)

    def handle(self, *args, **options) -> None:
        project = cli.resolve_project(options["project"], options["owner"])
        versions = services.model_versions_list(project=project)
        if options["version"]:
            versions = [cli.resolve_version(project, options["version"])]
        if not versions:
            self.stdout.write(f"{project.name} (#{project.pk}) has no versions yet.")
            return
        self.stdout.write(f"{'':2}{'version':8}{'run':>5}{'accuracy':>10}{'macro F1':>10}"
                          f"{'images':>8}  created")  # fmt: skip
        for v in versions:
            acc = f"{v.accuracy:.4f}" if v.accuracy is not None else "-"
            f1 = v.metrics.get("macro_f1")
            self.stdout.write(
                f"{'*' if v.is_default else '':2}{v.name:8}{v.run.number:>5}{acc:>10}"
                f"{(f'{f1:.4f}' if f1 is not None else '-'):>10}{v.run.image_count:>8}  "
                f"{v.created_at:%Y-%m-%d %H:%M}"
            )

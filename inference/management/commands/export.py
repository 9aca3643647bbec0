import shutil

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management.base import CommandError, CommandParser

from inference import cli, services
from inference.export import FORMATS


class Command(cli.ProjectCommand):
    help = "Export a version as a ZIP (model, labels.json, preprocessing.json, README)."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_project_arguments(parser)
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("out", metavar="OUT.zip")

    def handle(self, *args, **options) -> None:
        project = cli.resolve_project(options["project"], options["owner"])
        if not options["version"]:
            raise CommandError("Name the version: --version N or --version latest.")
        version = cli.resolve_version(project, options["version"])
        try:
            name = services.export_build(version=version, fmt=options["format"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        with default_storage.open(name, "rb") as src, open(options["out"], "wb") as dst:
            shutil.copyfileobj(src, dst)
        self.stdout.write(f"Wrote {options['out']} ({version.name}, {options['format']}).")

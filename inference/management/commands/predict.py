import json
from pathlib import Path

from django.core.management.base import CommandParser

from inference import cli, services
from inference.models import Prediction


class Command(cli.ProjectCommand):
    help = "Predict images with a project's model: one JSON line per image."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_project_arguments(parser)
        parser.add_argument("images", nargs="+", metavar="IMAGE")
        parser.add_argument("--no-keep", action="store_true", help="do not keep in the history")
        parser.add_argument(
            "--explain",
            action="store_true",
            help="add an occlusion heat map (8x8 grid over the centre square, 0..1)",
        )

    def handle(self, *args, **options) -> None:
        project = cli.resolve_project(options["project"], options["owner"])
        version = cli.resolve_version(project, options["version"])
        for name in options["images"]:
            line: dict
            try:
                data = Path(name).read_bytes()
                outcome = services.prediction_create(
                    project=project,
                    data=data,
                    user=None,
                    version=version,
                    source=Prediction.Source.COMMAND,
                    original_name=Path(name).name,
                    keep=not options["no_keep"],
                    explain=options["explain"],
                )
            except OSError as exc:
                line = {"file": name, "error": f"cannot read: {exc.strerror or exc}"}
            except services.PredictionError as exc:
                line = {"file": name, "error": exc.message}
            else:
                line = {
                    "file": name,
                    "label": outcome.ranked[0][0],
                    "probability": outcome.ranked[0][1],
                    "unknown": outcome.unknown,
                    "probabilities": dict(outcome.ranked),
                    "version": version.number,
                }
                if outcome.explanation is not None:
                    line["explanation"] = outcome.explanation
            self.stdout.write(json.dumps(line))

"""`python manage.py doubts --project P [--owner U] [--run N]`: the images a run found likely
mislabelled, one JSON line each (stdout holds nothing else; errors go to stderr)."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference import cli
from training.doubts import (
    training_run_doubts,
    training_run_doubts_problem,
    training_run_latest_succeeded,
)
from training.models import TrainingRun


class Command(BaseCommand):
    help = (
        "List the images a training run found likely mislabelled: one JSON line each with "
        "image, original_name, given, suggested and confidence."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_project_arguments(parser, version=False)
        parser.add_argument("--run", type=int, help="run number (default: latest succeeded)")

    def handle(self, *args, project: str, owner: str | None, run: int | None, **options) -> None:
        target = cli.resolve_project(project, owner)
        if run is None:
            found = training_run_latest_succeeded(project=target)
            if found is None:
                raise CommandError(f"“{target.name}” has no succeeded training run yet.")
        else:
            found = TrainingRun.objects.filter(project=target, number=run).first()
            if found is None:
                raise CommandError(f"“{target.name}” has no run #{run}.")
        problem = training_run_doubts_problem(run=found)
        if problem:
            raise CommandError(problem)
        for doubt in training_run_doubts(run=found):
            self.stdout.write(json.dumps(doubt.as_dict(), ensure_ascii=False))

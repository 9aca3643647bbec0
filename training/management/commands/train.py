"""`python manage.py train --project NAME_OR_ID`: start a run exactly as the page does and
follow it to the end (or run it in this process with --inline)."""

import json
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from aimaker.ids import parse_id
from projects.models import Project
from training.models import TrainingRun
from training.presets import Preset, training_preset_params
from training.services import (
    training_run_cancel,
    training_run_execute,
    training_run_start,
    training_run_state,
)


def parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise CommandError(f"--param {text!r}: expected key=value, e.g. --param epochs=10")
    key, raw = text.split("=", 1)
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return key.strip(), lowered == "true"
    try:
        return key.strip(), json.loads(raw)
    except ValueError:
        return key.strip(), raw


class Command(BaseCommand):
    help = "Train a project's classifier now and print its progress and final metrics."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", required=True, help="project id or name")
        parser.add_argument("--owner", help="username, when several projects share the name")
        parser.add_argument(
            "--preset", choices=Preset.values, help="as on the page; --mode/--param override it"
        )
        parser.add_argument("--mode", choices=[m.value for m in TrainingRun.Mode])
        parser.add_argument(
            "--param", action="append", default=[], metavar="KEY=VALUE",
            help="training parameter, e.g. epochs=10 learning_rate=0.001 augmentation=false",
        )  # fmt: skip
        parser.add_argument(
            "--inline", action="store_true", help="train in this process instead of a worker"
        )

    def find_project(self, ref: str, owner: str | None) -> Project:
        qs = Project.objects.select_related("owner")
        if owner:
            if not get_user_model().objects.filter(username=owner).exists():
                raise CommandError(f"No user {owner!r}.")
            qs = qs.filter(owner__username=owner)
        if (pk := parse_id(ref)) is not None and qs.filter(pk=pk).exists():
            return qs.get(pk=pk)
        matches = list(qs.filter(name__iexact=ref))
        if not matches:
            raise CommandError(f"No project {ref!r}" + (f" of {owner}." if owner else "."))
        if len(matches) > 1:
            owners = ", ".join(sorted({p.owner.username for p in matches}))
            raise CommandError(
                f"{len(matches)} projects are named {ref!r} (owners: {owners}); "
                "pick one with --owner USERNAME or give the project id."
            )
        return matches[0]

    def handle(self, *args, project: str, owner: str | None, mode: str | None,
               param: list[str], inline: bool, preset: str | None = None,
               **options) -> None:  # fmt: skip
        target = self.find_project(project, owner)
        params = training_preset_params(preset=preset) if preset else {}
        params.update(parse_param(p) for p in param)
        if mode:
            params["mode"] = mode
        try:
            run = training_run_start(
                project=target, user=target.owner, params=params, enqueue=not inline
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Run #{run.number} of “{target.name}” (id {run.pk}): {run.params}")
        last = [""]

        def show(state: dict[str, Any]) -> None:
            if state["text"] != last[0]:
                last[0] = state["text"]
                self.stdout.write(f"  {state['text']}")

        try:
            if inline:
                run = training_run_execute(run_id=run.pk, on_progress=show)
            else:
                while run.is_active:
                    show(training_run_state(run=run))
                    time.sleep(1)
                    run.refresh_from_db()
        except KeyboardInterrupt:
            training_run_cancel(run=run, by=run.created_by)
            raise CommandError(f"Interrupted: run #{run.number} asked to stop.") from None
        self.report(run)

    def report(self, run: TrainingRun) -> None:
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.number} {run.status}. {run.error}".strip())
        m = run.metrics
        self.stdout.write(self.style.SUCCESS(f"Run #{run.number} succeeded."))
        self.stdout.write(
            f"  validation accuracy {m.get('val_accuracy'):.4f}, loss {m.get('val_loss'):.4f}, "
            f"macro F1 {m.get('macro_f1')} on {m.get('val_count')} images"
        )
        for row in m.get("per_label", []):
            self.stdout.write(
                f"  {row['label']}: precision {row['precision']}, recall {row['recall']}, "
                f"F1 {row['f1']} ({row['support']})"
            )
        self.stdout.write(f"  timings (s): {json.dumps(run.timings)}")
        self.stdout.write(f"  artifacts: {run.artifact_prefix}")

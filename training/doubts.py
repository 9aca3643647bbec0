"""Services of "Check these labels": the images a run found likely mislabelled, and fixing them.

The training job stores the flagged images (confident learning on out-of-fold probabilities,
training.ml.evaluate.find_doubts) in the run's metrics; everything here only reads them, so
pages, the API and the command never recompute anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from datasets.models import Image
from datasets.services import image_delete_many, image_move_many
from projects.models import Label, Project
from training.models import TrainingRun

ACTIONS = ("move", "remove")


@dataclass
class Doubt:
    image: Image
    given: str  # label name at training time
    suggested: str
    suggested_label: Label | None  # where "move" puts it; None if that label was deleted
    confidence: float  # out-of-fold probability of the suggested label
    p_given: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "image": self.image.pk,
            "original_name": self.image.original_name,
            "given": self.given,
            "suggested": self.suggested,
            "confidence": self.confidence,
        }


def training_run_doubts_checked(*, run: TrainingRun) -> bool:
    """Whether this run checked its labels (runs before confident learning did not)."""
    m = run.metrics or {}
    return run.status == TrainingRun.Status.SUCCEEDED and "doubts_info" in m


def training_run_doubts_problem(*, run: TrainingRun) -> str | None:
    """Why the run has no list of doubts to show, or None when it has one (maybe empty)."""
    if run.status != TrainingRun.Status.SUCCEEDED:
        return f"Run #{run.number} has not succeeded ({run.status}), so it checked no labels."
    if not training_run_doubts_checked(run=run):
        return (
            f"Run #{run.number} was trained before label checking existed: "
            "train again to check the labels."
        )
    info = run.metrics["doubts_info"]
    if info.get("error"):
        return f"Run #{run.number} could not check the labels ({info['error']})."
    if info.get("skipped"):
        return f"Too few images to check the labels ({info['skipped']})."
    return None


def training_run_latest_succeeded(*, project: Project) -> TrainingRun | None:
    """The latest succeeded run (the one whose model is newest)."""
    return project.runs.filter(status=TrainingRun.Status.SUCCEEDED).order_by("-number").first()


def training_run_doubts(*, run: TrainingRun) -> list[Doubt]:
    """The run's flagged images that still need a look, most certain first: images deleted
    or relabelled since the run are left out (someone dealt with them)."""
    if not training_run_doubts_checked(run=run):
        return []
    m = run.metrics
    ids = m.get("image_ids") or [image_id for image_id, _ in run.snapshot]
    label_ids = list(run.label_ids or [])
    flagged = [
        d
        for d in m.get("doubts") or []
        if 0 <= d["index"] < len(ids) and max(d["given"], d["suggested"]) < len(label_ids)
    ]
    images = Image.objects.filter(
        project_id=run.project_id, pk__in=[ids[d["index"]] for d in flagged]
    ).in_bulk()
    labels = Label.objects.filter(project_id=run.project_id, pk__in=label_ids).in_bulk()
    doubts = []
    for d in flagged:
        image = images.get(ids[d["index"]])
        if image is None or image.label_id != label_ids[d["given"]]:
            continue
        doubts.append(
            Doubt(
                image=image,
                given=run.labels[d["given"]],
                suggested=run.labels[d["suggested"]],
                suggested_label=labels.get(label_ids[d["suggested"]]),
                confidence=d["confidence"],
                p_given=d["p_given"],
            )
        )
    return doubts


def training_doubt_resolve(*, run: TrainingRun, image_id: int, action: str) -> str:
    """Move a flagged image to its suggested label, or remove it. Returns what was done."""
    if action not in ACTIONS:
        raise ValidationError("Choose “move” or “remove”.")
    doubt = next((d for d in training_run_doubts(run=run) if d.image.pk == image_id), None)
    if doubt is None:
        raise ValidationError("That image is not on this list any more.")
    name = doubt.image.original_name or f"Image {image_id}"
    if action == "remove":
        image_delete_many(project=run.project, image_ids=[image_id])
        return f"Removed “{name}”."
    if doubt.suggested_label is None:
        raise ValidationError(f"The label “{doubt.suggested}” no longer exists.")
    image_move_many(project=run.project, image_ids=[image_id], label=doubt.suggested_label)
    return f"Moved “{name}” to “{doubt.suggested_label.name}”."

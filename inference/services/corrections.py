"""The correction loop: the owner says whether a prediction was right, names the right label,
and with one click the image joins the training set under it ("from prediction #N")."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.utils import timezone

from datasets.models import Image
from datasets.services import dataset_notify, image_ingest
from inference.models import Prediction
from projects.models import Label, Project

log = logging.getLogger(__name__)


@dataclass
class ReviewOutcome:
    prediction: Prediction
    added: bool  # the image joined the training set now
    note: str  # for the owner: what happened to the image

    def as_dict(self) -> dict:
        p = self.prediction
        return {
            "id": p.pk,
            "label": p.label,
            "verdict": p.verdict,
            "correct_label": p.correct_label,
            "training_image": p.training_image_id,
            "added": self.added,
            "note": self.note,
        }


def prediction_review(
    *, prediction: Prediction, label: Label, add: bool, user: User
) -> ReviewOutcome:
    """Record that `label` is the right answer for `prediction` (right when it is the label the
    model gave, else wrong); with `add`, put its image into the training set under `label`
    through the same checks as an upload. Reviewing again replaces the verdict; an image
    already added stays where it is."""
    if label.project_id != prediction.project_id:
        raise ValueError("the label belongs to another project")
    added, note = False, ""
    image = prediction.training_image
    if add and image is None:
        image, added, note = _add_image(prediction=prediction, label=label, user=user)
    elif add:
        note = f"Its image is already in the training set (as “{image.label.name}”)."
    prediction.verdict = (
        Prediction.Verdict.RIGHT if label.name == prediction.label else Prediction.Verdict.WRONG
    )
    prediction.correct_label = label.name
    prediction.reviewed_at = timezone.now()
    prediction.training_image = image
    prediction.save(update_fields=["verdict", "correct_label", "reviewed_at", "training_image"])
    if added:
        dataset_notify(prediction.project)
    return ReviewOutcome(prediction=prediction, added=added, note=note)


def _add_image(*, prediction: Prediction, label: Label, user: User) -> tuple:
    if not prediction.image.name:
        return None, False, "A visitor's image that was not kept cannot be added: verdict saved."
    try:
        with default_storage.open(prediction.image.name, "rb") as f:
            data = f.read()
    except (FileNotFoundError, OSError):
        return None, False, "Its image is gone (pruned with old predictions): verdict saved."
    outcome = image_ingest(
        project=prediction.project,
        label=label,
        data=data,
        source=Image.Source.CORRECTION,
        added_by=user,
        original_name=f"prediction #{prediction.pk}",
        provenance={"provider": "prediction", "provider_id": str(prediction.pk)},
    )
    if outcome.status == "added":
        return outcome.image, True, f"Added to the training set as “{label.name}”."
    if outcome.status == "duplicate":  # the picture is in the training set already
        return outcome.image, False, f"Not added: the same image is {outcome.reason}."
    return None, False, f"Not added: {outcome.reason}"


def predictions_to_review(*, project: Project, include_sure: bool = False) -> QuerySet:
    """The owner's to-do list: unreviewed predictions that kept their image, least confident
    first; only those under AIMAKER_REVIEW_BELOW or called "not sure" unless `include_sure`."""
    qs = project.predictions.filter(reviewed_at__isnull=True).exclude(image="")
    if not include_sure:
        qs = qs.filter(Q(probability__lt=settings.AIMAKER_REVIEW_BELOW) | Q(unknown=True))
    return qs.order_by("probability", "-created_at")

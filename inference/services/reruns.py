"""Re-running a project's prediction history with another version (a background job)."""

from __future__ import annotations

import io
import logging
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage

from inference import serving
from inference.models import (
    ModelVersion,
    Prediction,
    Rerun,
    RerunItem,
)
from inference.services.predictions import probabilities_ranked
from projects.models import Job, Project
from projects.services import JobReporter, job_create

log = logging.getLogger(__name__)


def rerun_start(*, project: Project, version: ModelVersion, user: User | None) -> Rerun:
    """Re-run every prediction made so far with `version`, as a background job."""
    if version.project_id != project.pk:
        raise ValidationError("That version belongs to another AI.")
    count = project.predictions.exclude(image="").count()  # only those whose image was kept
    if not count:
        raise ValidationError("There are no predictions to re-run yet.")
    with transaction.atomic():
        rerun = Rerun.objects.create(
            project=project,
            version=version,
            version_number=version.number,
            created_by=user,
            up_to=timezone.now(),
            total=count,
        )
        job = job_create(
            project=project,
            user=user,
            kind=Job.Kind.RERUN,
            title=f"Re-run {count} prediction(s) with {version.name}",
            func="inference.jobs.rerun_predictions",
            queue="default",
            params={"rerun_id": rerun.pk},
            total=count,
        )
        rerun.job = job
        rerun.save(update_fields=["job"])
    return rerun


def rerun_execute(*, rerun: Rerun, reporter: JobReporter) -> dict[str, Any]:
    """The body of the re-run job: predict every earlier prediction's image with the version."""
    if rerun.version is None:
        raise ValueError("The version of this re-run was deleted.")
    version = ModelVersion.objects.select_related("run").get(pk=rerun.version_id)
    model = serving.get_model(version)
    qs = rerun.project.predictions.filter(created_at__lte=rerun.up_to).exclude(image="")
    qs = qs.order_by("id")
    total = qs.count()
    done = changed = 0
    batch: list[Prediction] = []

    def flush() -> None:
        nonlocal changed
        images = []
        for p in batch:
            with default_storage.open(p.image.name, "rb") as f:
                images.append(PILImage.open(io.BytesIO(f.read())))
        probs = model.predict(images)
        items = []
        for p, row in zip(batch, probs, strict=True):
            ranked = probabilities_ranked(model.labels, row)
            by_label = dict(zip(model.labels, (float(x) for x in row), strict=True))
            is_changed = ranked[0][0] != p.label
            changed += is_changed
            items.append(
                RerunItem(
                    rerun=rerun,
                    prediction=p,
                    old_label=p.label,
                    old_probability=p.probability,
                    new_label=ranked[0][0],
                    new_probability=ranked[0][1],
                    new_probability_of_old=by_label.get(p.label),
                    changed=is_changed,
                )
            )
        RerunItem.objects.bulk_create(items, ignore_conflicts=True)
        batch.clear()

    for prediction in qs.iterator(chunk_size=200):
        batch.append(prediction)
        if len(batch) >= 32:
            done += len(batch)
            flush()
            reporter.progress(done, total, f"{done} of {total} re-run, {changed} changed")
    if batch:
        done += len(batch)
        flush()
    reporter.progress(done, total, f"{done} re-run, {changed} changed")
    Rerun.objects.filter(pk=rerun.pk).update(total=total, changed=changed)
    return {"rerun_id": rerun.pk, "total": total, "changed": changed}

"""The off-topic check: after a collection, every image of the collected labels is scored
against its label's others in the backbone's feature space (training/ml/offtopic.py), and the
web-collected ones that look unlike the rest are flagged for the owner to keep or remove
before training. A background job: loading the backbone takes seconds."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from datasets.models import Image
from datasets.services import dataset_notify
from projects.models import Job, Project
from projects.services import JobReporter, job_create
from training.ml import TrainParams, embed
from training.ml.offtopic import Z_CUTOFF, offtopic_scores
from training.services.params import training_default_backbone
from training.services.runner import training_local_samples

log = logging.getLogger(__name__)


def offtopic_check_start(*, project: Project, label_ids: list[int], user: User | None) -> Job:
    """Queue the check of these labels (on commit)."""
    return job_create(
        project=project,
        user=user,
        kind=Job.Kind.OFFTOPIC,
        title="Checking the collected images for off-topic ones",
        func="training.jobs.offtopic_check",
        params={"label_ids": sorted(set(label_ids))},
    )


def offtopic_check_run(*, job: Job, reporter: JobReporter) -> dict[str, Any]:
    """The job's body: score, then flag (collected images only; never one the owner kept)."""
    images = Image.objects.filter(
        project=job.project, label_id__in=job.params.get("label_ids", []), quarantined=False
    )
    rows = list(images.values_list("pk", "label_id"))
    snapshot = [[image_id, label_id] for image_id, label_id in rows]
    workdir = Path(tempfile.mkdtemp(prefix="aimaker-offtopic-"))
    try:
        samples, image_ids = training_local_samples(
            snapshot=snapshot, workdir=workdir, progress=lambda event: None
        )
        if not samples:
            return {"checked": 0, "flagged": 0}
        reporter.progress(0, len(samples), "Extracting image features…")

        def progress(event: dict[str, Any]) -> None:
            if event.get("total"):
                reporter.progress(event.get("done", 0), event["total"])

        def should_stop() -> bool:
            reporter.check_cancelled()  # raises JobCancelled: the job runtime ends it so
            return False

        features = embed(
            samples=samples,
            params=TrainParams(backbone=training_default_backbone()),
            backbone_weights=settings.AIMAKER_BACKBONE_WEIGHTS or None,
            cache_dir=str(settings.AIMAKER_FEATURE_CACHE_DIR),
            extract_runtime=settings.AIMAKER_EXTRACT_RUNTIME,
            progress=progress,
            should_stop=should_stop,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    scores = offtopic_scores(features, np.array([s.label for s in samples]))
    flagged = 0
    with transaction.atomic():
        for image_id, score in zip(image_ids, scores, strict=True):
            value = None if np.isnan(score) else round(float(score), 2)  # NaN: not judged
            far = value is not None and value >= Z_CUTOFF
            updated = Image.objects.filter(pk=image_id).update(offtopic_score=value)
            if far and updated:
                flagged += Image.objects.filter(
                    pk=image_id, source=Image.Source.COLLECTED, offtopic_kept=False
                ).update(offtopic=True)
    dataset_notify(job.project)
    reporter.job.message = (
        f"{flagged} of {len(samples)} image(s) look off-topic: review them before training."
        if flagged
        else f"Checked {len(samples)} image(s): none looks off-topic."
    )
    return {"checked": len(samples), "flagged": flagged}


def offtopic_on_collected(*, project: Project, label_ids: list[int], user: User | None,
                          **kwargs: Any) -> None:  # fmt: skip
    """Receiver of datasets.signals.images_collected."""
    if settings.AIMAKER_OFFTOPIC_CHECK:
        offtopic_check_start(project=project, label_ids=label_ids, user=user)

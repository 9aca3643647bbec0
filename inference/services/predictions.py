"""Predicting an image: limits, admission (rate limits, model loads), the stored prediction and
its pruning."""

from __future__ import annotations

import io
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Count
from django.utils import timezone
from PIL import Image as PILImage

from aimaker.metrics import PREDICTION_SECONDS
from aimaker.ratelimit import client_ip, rate_limit_hit
from datasets.imaging import ImageRejected, process_image, thumbnail_jpeg
from datasets.services import image_limits
from inference import serving
from inference.models import (
    ModelVersion,
    Prediction,
)
from inference.services.versions import PredictionError, model_version_get
from projects.models import Project
from training.ml.explain import occlusion_map

log = logging.getLogger(__name__)


def image_read_upload(upload: Any) -> bytes:
    """Bytes of an uploaded file, refusing oversized ones before reading them whole."""
    limit = settings.AIMAKER_IMAGE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise PredictionError(
            f"The file is too large ({size / 1048576:.1f} MB, limit {limit / 1048576:g} MB).",
            status=413,
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PredictionError(f"The file is too large (limit {limit / 1048576:g} MB).", status=413)
    return data


@dataclass
class PredictionOutcome:
    prediction: Prediction | None
    version: ModelVersion
    ranked: list[tuple[str, float]]
    duration_ms: float
    explanation: dict[str, Any] | None = None
    unknown: bool | None = None  # None: the version has no unknown-detector
    unknown_score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {
            "id": self.prediction.pk if self.prediction else None,
            "version": self.version.number,
            "label": self.ranked[0][0],
            "probability": self.ranked[0][1],
            "unknown": self.unknown,
            "unknown_score": self.unknown_score,
            "labels": [{"label": name, "probability": p} for name, p in self.ranked],
            "duration_ms": round(self.duration_ms, 1),
        }
        if self.explanation is not None:
            data["explanation"] = self.explanation
        return data


def probabilities_ranked(labels: list[str], probs: Any) -> list[tuple[str, float]]:
    pairs = [(name, round(float(p), 6)) for name, p in zip(labels, probs, strict=True)]
    return sorted(pairs, key=lambda p: -p[1])


def prediction_keeps_image(*, project: Project, user: User | AnonymousUser | None) -> bool:
    """Whether a prediction by `user` keeps its image: the owner's always do; visitors' do
    unless the owner switched that off (their predictions are then recorded without it)."""
    is_owner = user is not None and user.is_authenticated and user.pk == project.owner_id
    return is_owner or project.keep_visitor_images


def prediction_create(
    *,
    project: Project,
    data: bytes,
    user: User | AnonymousUser | None,
    version: ModelVersion | None = None,
    source: str = Prediction.Source.WEB,
    original_name: str = "",
    keep: bool = True,
    explain: bool = False,
) -> PredictionOutcome:
    """Validate the image, predict with `version` (default: the project's default) and keep
    the prediction (image, version, probabilities, who, when); with `explain`, add a heat map
    of the regions the answer rests on. Raises PredictionError."""
    started = time.perf_counter()
    if version is None:
        version = model_version_get(project=project, ref=None)
    try:
        # Decoded at reduced scale: a prediction keeps its 256 px copy only.
        limits = image_limits(original_max_side=512)
        processed = process_image(data, limits=limits, for_dataset=False)
    except ImageRejected as exc:
        raise PredictionError(f"This file cannot be used: {exc.reason}.") from None
    try:
        model = serving.get_model(version)
    except serving.ModelUnavailable as exc:
        raise PredictionError(str(exc), status=503) from None
    with PILImage.open(io.BytesIO(processed.normalized)) as img:
        x = model.preprocess([img])
    all_probs, scores = model.predict_open(x)
    probs = all_probs[0]
    ranked = probabilities_ranked(model.labels, probs)
    unknown, unknown_score = prediction_judge(version=version, scores=scores)
    explanation = prediction_explain(model=model, x=x, probs=probs) if explain else None
    prediction = None
    if keep:
        image_name = ""  # a visitor's image the owner chose not to keep
        if prediction_keeps_image(project=project, user=user):
            stem = f"projects/{project.pk}/predictions/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
            image_name = default_storage.save(f"{stem}.jpg", ContentFile(processed.normalized))
        # No thumbnail on the hot path: prediction_thumbnail makes it when a page first shows it.
        prediction = Prediction.objects.create(
            project=project,
            version=version,
            version_number=version.number,
            user=user if user is not None and user.is_authenticated else None,
            source=source,
            image=image_name,
            sha256=processed.sha256,
            original_name=(original_name or "")[:255],
            labels=model.labels,
            probabilities=[round(float(p), 6) for p in probs],
            label=ranked[0][0],
            probability=ranked[0][1],
            unknown=unknown,
            unknown_score=unknown_score,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    seconds = time.perf_counter() - started
    PREDICTION_SECONDS.labels(source=source).observe(seconds)
    return PredictionOutcome(
        prediction=prediction,
        version=version,
        ranked=ranked,
        duration_ms=seconds * 1000,
        explanation=explanation,
        unknown=unknown,
        unknown_score=unknown_score,
    )


def prediction_thumbnail(*, prediction: Prediction) -> str:
    """The storage name of the prediction's thumbnail, made from its image the first time
    ("" when the image was not kept). Raises OSError when the image is gone."""
    if prediction.thumbnail.name or not prediction.image.name:
        return prediction.thumbnail.name
    with default_storage.open(prediction.image.name, "rb") as f:
        data = thumbnail_jpeg(f.read())
    stem = prediction.image.name.rsplit(".", 1)[0]
    name = default_storage.save(f"{stem}_thumb.jpg", ContentFile(data))
    # Two first views at once: one row update wins; the other's file goes.
    if Prediction.objects.filter(pk=prediction.pk, thumbnail="").update(thumbnail=name):
        prediction.thumbnail.name = name
    else:
        default_storage.delete(name)
        prediction.refresh_from_db(fields=["thumbnail"])
    return prediction.thumbnail.name


def prediction_judge(
    *, version: ModelVersion, scores: np.ndarray | None
) -> tuple[bool | None, float | None]:
    """(unknown, score) of one image from its unknown score and the version's threshold."""
    threshold = version.threshold
    if scores is None or threshold is None:
        return None, None
    score = float(scores[0])
    return score > threshold, round(score, 6)


def prediction_explain(*, model: serving.LoadedModel, x: np.ndarray, probs: np.ndarray) -> dict:
    """The occlusion heat map of the top label for the one preprocessed image in `x`: a grid
    over the square the model saw (the centre crop), 0..1 = how much hiding that region
    lowers the top label's probability."""
    started = time.perf_counter()
    target = int(np.argmax(probs))
    heat = occlusion_map(model.predict_array, x[0], target=target)
    return {
        "method": "occlusion",
        "label": model.labels[target],
        "grid": [[round(float(v), 4) for v in row] for row in heat],
        "crop": "centre square",
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def prediction_admit(*, request: Any, project: Project, version: ModelVersion | None) -> None:
    """Raise PredictionError if this (valid) request may not predict now. Owners always may.
    Visitors use the published (default) version only, get a per-client limit per AI, and a
    per-client limit on models woken up (a load takes seconds and evicts others' models)."""
    if request.user.is_authenticated and request.user.pk == project.owner_id:
        return
    if version is not None and not version.is_default:
        raise PredictionError("Visitors can try the published version only.", 403)
    client = client_ip(request)
    if not rate_limit_hit(
        key=f"predict:{project.pk}:{client}",
        limit=settings.AIMAKER_PREDICT_RATE_PER_MINUTE,
        window=60,
    ):
        raise PredictionError(
            "Too many predictions from your address. Wait a minute, then try again.", 429
        )
    default = version or ModelVersion.objects.filter(project=project, is_default=True).first()
    if default is not None and not serving.is_loaded(default):
        if not rate_limit_hit(
            key=f"model-load:{client}", limit=settings.AIMAKER_MODEL_LOADS_PER_MINUTE, window=60
        ):
            raise PredictionError(
                "This AI is asleep and your address woke up too many AIs in the last minute. "
                "Wait a minute, then try again.",
                429,
            )


_last_prune = float("-inf")  # the first tick prunes, even just after boot (monotonic ~0)
PRUNE_EVERY = 600.0  # seconds: counting every AI's predictions is not for every monitor tick


def predictions_prune(*, force: bool = False) -> int:
    """Keep each AI's newest AIMAKER_PREDICTIONS_KEPT predictions; older ones are deleted with
    their images (a receiver deletes the files). Runs from the monitor."""
    global _last_prune
    if not force and time.monotonic() - _last_prune < PRUNE_EVERY:
        return 0
    _last_prune = time.monotonic()
    keep = settings.AIMAKER_PREDICTIONS_KEPT
    over = Project.objects.annotate(n=Count("predictions")).filter(n__gt=keep)
    deleted = 0
    for project_id in over.values_list("pk", flat=True):
        while True:
            old = list(
                Prediction.objects.filter(project_id=project_id)
                .order_by("-created_at", "-id")
                .values_list("pk", flat=True)[keep : keep + 1000]
            )
            if not old:
                break
            deleted += Prediction.objects.filter(pk__in=old).delete()[0]
    return deleted

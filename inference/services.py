"""Business logic for using models: versions and the default, predictions, re-runs, exports,
API tokens and rate limits. Views, API, jobs and commands call these."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image as PILImage

from aimaker.metrics import PREDICTION_SECONDS
from aimaker.ratelimit import client_ip, rate_limit_hit
from datasets.imaging import ImageLimits, ImageRejected, process_image
from inference import serving
from inference.models import (
    DefaultSwitch,
    ModelVersion,
    PersonalToken,
    Prediction,
    Rerun,
    RerunItem,
)
from projects.models import Job, Project
from projects.services import JobReporter, job_create
from training.models import TrainingRun

log = logging.getLogger(__name__)


class PredictionError(Exception):
    """A prediction cannot be made; .message is safe to show; .status the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NoModelVersion(PredictionError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=409)


# --- Versions -----------------------------------------------------------------------------


def model_version_create_for_run(*, run: TrainingRun) -> ModelVersion | None:
    """The version of a succeeded run (created with the next number if missing). Idempotent;
    call it when a run succeeds. Returns None for a run that did not succeed."""
    if run.status != TrainingRun.Status.SUCCEEDED or not run.artifact_prefix:
        return None
    existing = ModelVersion.objects.filter(run=run).first()
    if existing:
        return existing
    for _attempt in range(5):  # two processes numbering at once: the loser retries
        try:
            with transaction.atomic():
                last = ModelVersion.objects.filter(project_id=run.project_id).aggregate(
                    n=Max("number")
                )["n"]
                return ModelVersion.objects.create(
                    project_id=run.project_id, run=run, number=(last or 0) + 1
                )
        except IntegrityError:
            existing = ModelVersion.objects.filter(run=run).first()
            if existing:
                return existing
    raise RuntimeError(f"Could not number the version of run {run.pk}")


def model_version_prepare_serving(*, version: ModelVersion) -> bool:
    """Do the slow part of a version's first prediction now (in the worker that made it):
    store its ONNX form next to the model, so serving loads it without converting.

    Best effort: returns False when it could not (serving then converts on first use)."""
    if settings.AIMAKER_SERVING_RUNTIME != "onnx":
        return False
    try:
        serving.onnx_artifact_write(model_path=version.model_path)
    except Exception:  # noqa: BLE001 - the version is usable anyway, only its first load is slow
        log.warning("could not prepare version %s for serving", version.pk, exc_info=True)
        return False
    return True


def model_versions_sweep() -> int:
    """Monitor backstop: the versions of succeeded runs whose worker died before it made them
    (in run order). Returns how many it made."""
    missing = TrainingRun.objects.filter(
        status=TrainingRun.Status.SUCCEEDED, model_version__isnull=True
    ).exclude(artifact_prefix="")
    return sum(
        model_version_create_for_run(run=run) is not None
        for run in missing.order_by("finished_at", "number")
    )


def model_versions_list(*, project: Project) -> list[ModelVersion]:
    return list(project.model_versions.select_related("run").order_by("-number"))


def model_version_default(*, project: Project) -> ModelVersion | None:
    return project.model_versions.select_related("run").filter(is_default=True).first()


def model_version_get(*, project: Project, ref: str | int | None) -> ModelVersion:
    """Resolve a version reference: None/"" = the default, "latest", "v3" or 3.
    Raises NoModelVersion with a message that says what exists."""
    qs = project.model_versions.select_related("run")
    if ref is None or ref == "" or ref == "default":
        version = qs.filter(is_default=True).first()
        if version is None:
            if qs.exists():
                raise NoModelVersion(
                    "This AI has no default version yet: its owner must publish one first."
                )
            raise NoModelVersion("This AI has no trained model yet: train it first.")
        return version
    if ref == "latest":
        version = qs.order_by("-number").first()
        if version is None:
            raise NoModelVersion("This AI has no trained model yet: train it first.")
        return version
    text = str(ref).strip().lower().removeprefix("v")
    if not (text.isascii() and text.isdigit()):  # "²".isdigit() is True, int("²") fails
        raise PredictionError(f"Unknown version {ref!r}: use a number like 2, v2 or “latest”.")
    version = qs.filter(number=int(text)).first()
    if version is None:
        raise PredictionError(f"This AI has no version v{int(text)}.", status=404)
    return version


def model_version_set_default(
    *, version: ModelVersion, user: User | None, note: str, via: str = "web"
) -> DefaultSwitch:
    """Make `version` the project's default (publish, or roll back to an older one) and record
    who did it, when and why."""
    note = (note or "").strip()
    if not note:
        raise ValidationError("Write a short note saying why you switch versions.")
    if len(note) > 500:
        raise ValidationError("Keep the note under 500 characters.")
    with transaction.atomic():
        # Lock the project's versions so two switches at once cannot both win.
        versions = list(
            ModelVersion.objects.select_for_update().filter(project_id=version.project_id)
        )
        current = next((v for v in versions if v.is_default), None)
        if current is not None and current.pk == version.pk:
            raise ValidationError(f"{version.name} is already the default.")
        if current is not None:
            ModelVersion.objects.filter(pk=current.pk).update(is_default=False)
        now = timezone.now()
        ModelVersion.objects.filter(pk=version.pk).update(
            is_default=True, published_at=version.published_at or now
        )
        switch = DefaultSwitch.objects.create(
            project_id=version.project_id,
            from_version=current,
            to_version=version,
            from_number=current.number if current else None,
            to_number=version.number,
            user=user,
            note=note,
            via=via,
        )
    version.refresh_from_db()
    if settings.AIMAKER_SERVING_WARM_ON_DEFAULT:
        # The new default is loaded before the first visitor asks for it.
        transaction.on_commit(lambda: serving.warm_in_background(version))
    return switch


def model_version_delete(*, version: ModelVersion) -> None:
    if version.is_default:
        raise ValidationError("Make another version the default before deleting this one.")
    exports_delete(version=version)
    version.delete()


def _per_label(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in metrics.get("per_label") or [] if "label" in row}


def _delta(new: Any, old: Any) -> float | None:
    if isinstance(new, int | float) and isinstance(old, int | float):
        return new - old
    return None


def model_version_compare(
    *, version: ModelVersion, baseline: ModelVersion | None
) -> dict[str, Any]:
    """What differs between `version` and `baseline` (usually the current default)."""
    from training.describe import training_param_name, training_param_value

    new_m, old_m = version.metrics, baseline.metrics if baseline else {}
    metric_rows = []
    for key, title in (
        ("val_accuracy", "Validation accuracy"),
        ("macro_f1", "Macro F1"),
        ("val_loss", "Validation loss"),
        ("val_count", "Validation images"),
    ):
        new, old = new_m.get(key), old_m.get(key)
        metric_rows.append({"key": key, "title": title, "new": new, "old": old,
                            "delta": _delta(new, old),
                            "percent": key == "val_accuracy"})  # fmt: skip
    metric_rows.append(
        {
            "key": "image_count",
            "title": "Images in the snapshot",
            "new": version.run.image_count,
            "old": baseline.run.image_count if baseline else None,
            "delta": _delta(version.run.image_count, baseline.run.image_count)
            if baseline
            else None,
        }
    )
    params = []
    if baseline:
        new_p, old_p = version.run.params or {}, baseline.run.params or {}
        for key in sorted(set(new_p) | set(old_p)):
            if new_p.get(key) != old_p.get(key):
                new, old = new_p.get(key), old_p.get(key)
                params.append({"key": key, "new": new, "old": old,
                               "name": training_param_name(key=key),
                               "new_text": training_param_value(key=key, value=new),
                               "old_text": training_param_value(key=key, value=old)})  # fmt: skip
    new_labels, old_labels = version.labels, baseline.labels if baseline else []
    images: dict[str, Any] = {}
    if baseline:
        new_snap = {int(i): new_labels[y] for i, y in version.run.snapshot}
        old_snap = {int(i): old_labels[y] for i, y in baseline.run.snapshot}
        added = sorted(set(new_snap) - set(old_snap))
        removed = sorted(set(old_snap) - set(new_snap))
        relabelled = sorted(i for i in set(new_snap) & set(old_snap) if new_snap[i] != old_snap[i])
        by_label: dict[str, dict[str, int]] = {}
        for i in added:
            by_label.setdefault(new_snap[i], {"added": 0, "removed": 0})["added"] += 1
        for i in removed:
            by_label.setdefault(old_snap[i], {"added": 0, "removed": 0})["removed"] += 1
        images = {
            "added": len(added),
            "removed": len(removed),
            "relabelled": len(relabelled),
            "unchanged": len(set(new_snap) & set(old_snap)) - len(relabelled),
            "by_label": dict(sorted(by_label.items())),
        }
    new_pl, old_pl = _per_label(new_m), _per_label(old_m)
    per_label = []
    for name in list(dict.fromkeys(new_labels + old_labels)):
        n, o = new_pl.get(name, {}), old_pl.get(name, {})
        # Per-label accuracy is the recall: the share of that label's images it got right.
        per_label.append(
            {
                "label": name,
                "new_accuracy": n.get("recall"),
                "old_accuracy": o.get("recall"),
                "accuracy_delta": _delta(n.get("recall"), o.get("recall")),
                "new_f1": n.get("f1"),
                "old_f1": o.get("f1"),
                "f1_delta": _delta(n.get("f1"), o.get("f1")),
                "status": "added"
                if name not in old_labels and baseline
                else ("removed" if name not in new_labels else ""),
            }
        )
    return {
        "metrics": metric_rows,
        "params": params,
        "labels_added": [x for x in new_labels if baseline and x not in old_labels],
        "labels_removed": [x for x in old_labels if x not in new_labels],
        "images": images,
        "per_label": per_label,
    }


# --- Predictions --------------------------------------------------------------------------


def image_limits() -> ImageLimits:
    # The data app's limits; originals are decoded at reduced scale (we keep 256 px only).
    return ImageLimits(
        max_bytes=settings.AIMAKER_IMAGE_MAX_BYTES,
        max_pixels=settings.AIMAKER_IMAGE_MAX_PIXELS,
        original_max_side=512,
    )


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.prediction.pk if self.prediction else None,
            "version": self.version.number,
            "label": self.ranked[0][0],
            "probability": self.ranked[0][1],
            "labels": [{"label": name, "probability": p} for name, p in self.ranked],
            "duration_ms": round(self.duration_ms, 1),
        }


def _rank(labels: list[str], probs: Any) -> list[tuple[str, float]]:
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
) -> PredictionOutcome:
    """Validate the image, predict with `version` (default: the project's default) and keep
    the prediction (image, version, probabilities, who, when). Raises PredictionError."""
    started = time.perf_counter()
    if version is None:
        version = model_version_get(project=project, ref=None)
    try:
        processed = process_image(data, limits=image_limits(), for_dataset=False)
    except ImageRejected as exc:
        raise PredictionError(f"This file cannot be used: {exc.reason}.") from None
    try:
        model = serving.get_model(version)
    except serving.ModelUnavailable as exc:
        raise PredictionError(str(exc), status=503) from None
    with PILImage.open(io.BytesIO(processed.normalized)) as img:
        probs = model.predict([img])[0]
    ranked = _rank(model.labels, probs)
    prediction = None
    if keep:
        image_name = thumb_name = ""  # a visitor's image the owner chose not to keep
        if prediction_keeps_image(project=project, user=user):
            stem = f"projects/{project.pk}/predictions/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
            image_name = default_storage.save(f"{stem}.jpg", ContentFile(processed.normalized))
            thumb_name = default_storage.save(f"{stem}_thumb.jpg", ContentFile(processed.thumbnail))
        prediction = Prediction.objects.create(
            project=project,
            version=version,
            version_number=version.number,
            user=user if user is not None and user.is_authenticated else None,
            source=source,
            image=image_name,
            thumbnail=thumb_name,
            sha256=processed.sha256,
            original_name=(original_name or "")[:255],
            labels=model.labels,
            probabilities=[round(float(p), 6) for p in probs],
            label=ranked[0][0],
            probability=ranked[0][1],
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    seconds = time.perf_counter() - started
    PREDICTION_SECONDS.labels(source=source).observe(seconds)
    return PredictionOutcome(
        prediction=prediction, version=version, ranked=ranked, duration_ms=seconds * 1000
    )


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


_last_prune = 0.0
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


# --- Re-runs ------------------------------------------------------------------------------


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
            ranked = _rank(model.labels, row)
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


# --- Exports ------------------------------------------------------------------------------


def export_name(*, version: ModelVersion, fmt: str) -> str:
    return f"{version.exports_prefix}{fmt}.zip"


def export_filename(*, version: ModelVersion, fmt: str) -> str:
    return f"{slugify(version.project.name) or 'model'}-{version.name}-{fmt}.zip"


def version_preprocessing(*, version: ModelVersion) -> dict[str, Any]:
    name = version.artifact("preprocessing.json")
    try:
        with default_storage.open(name, "rb") as f:
            return json.loads(f.read())
    except (FileNotFoundError, OSError, ValueError):
        model = serving.get_model(version)
        return {"input_size": model.input_size, "resize": "shorter_side_then_center_crop",
                "input_range": [0, 255], "color": "RGB", "dtype": "float32"}  # fmt: skip


def export_build(*, version: ModelVersion, fmt: str) -> str:
    """Build the ZIP of `fmt` into storage (if not there yet); returns its storage name."""
    from inference.export import FORMATS, build_export

    if fmt not in FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}.")
    name = export_name(version=version, fmt=fmt)
    if export_ready(version=version, fmt=fmt):
        return name
    for leftover in (name, _export_marker(name)):  # a write that never finished (disk full...)
        if default_storage.exists(leftover):
            default_storage.delete(leftover)
    local_model, temporary = serving._local_copy(version.model_path)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = build_export(
                model_path=local_model,
                fmt=fmt,
                out_zip=os.path.join(tmp, "export.zip"),
                labels=version.labels,
                preprocessing=version_preprocessing(version=version),
                project=version.project.name,
                version=version.name,
            )
            with open(out, "rb") as f:
                saved = default_storage.save(name, File(f, name=os.path.basename(name)))
            if saved != name:  # another build stored it first (a file storage renames ours)
                default_storage.delete(saved)
                return name
            # Complete only once every byte is stored: the marker holds the size to expect.
            size = os.path.getsize(out)
            default_storage.save(_export_marker(name), ContentFile(str(size).encode()))
    finally:
        if temporary:
            os.unlink(local_model)
    return name


def _export_marker(name: str) -> str:
    return f"{name}.complete"


def export_ready(*, version: ModelVersion, fmt: str) -> bool:
    """True when the ZIP is fully stored (its completion marker names its size)."""
    name = export_name(version=version, fmt=fmt)
    try:
        with default_storage.open(_export_marker(name), "rb") as f:
            expected = int(f.read())
        return default_storage.size(name) == expected
    except (FileNotFoundError, OSError, ValueError):
        return False


def _export_jobs(*, version: ModelVersion, fmt: str) -> Any:
    return Job.objects.filter(
        project_id=version.project_id,
        kind=Job.Kind.MODEL_EXPORT,
        params__version_id=version.pk,
        params__fmt=fmt,
    ).order_by("-pk")


def export_request(*, version: ModelVersion, fmt: str, user: User | None = None) -> str | None:
    """The storage name of a built export, or None after queueing its build (a job row, once).

    Raises ValidationError when the last build failed (asking again retries) or the queue is
    unavailable, so the waiting page never waits forever."""
    from inference.export import FORMATS

    if fmt not in FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}.")
    if export_ready(version=version, fmt=fmt):
        return export_name(version=version, fmt=fmt)
    with transaction.atomic():
        # One build per export at a time: concurrent requests wait here for each other.
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        latest = _export_jobs(version=version, fmt=fmt).first()
        if latest is not None and latest.is_active:
            return None
        unreported_failure = (
            latest is not None
            and latest.status == Job.Status.FAILED
            and not latest.params.get("reported")
        )
        if not unreported_failure:
            latest = job_create(
                project=version.project,
                user=user,
                kind=Job.Kind.MODEL_EXPORT,
                title=f"{FORMATS[fmt]} export of {version.name}",
                func="inference.jobs.export_build",
                params={"version_id": version.pk, "fmt": fmt},
                total=1,
                timeout=1800,
            )
    latest.refresh_from_db()  # queued on commit: failed now when the queue is unreachable
    if latest.status != Job.Status.FAILED:
        return None
    # A failure is said once; the next request builds the export again.
    Job.objects.filter(pk=latest.pk).update(params={**latest.params, "reported": True})
    if latest.started_at is None:
        raise ValidationError(
            "The job queue is unavailable, so the export cannot be built now. Try again later."
        )
    raise ValidationError(
        f"Building the {FORMATS[fmt]} export of {version.name} failed. Try again, or pick another "
        "format."
    )


def exports_delete(*, version: ModelVersion) -> None:
    prefix = version.exports_prefix.rstrip("/")
    try:
        _dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, OSError, NotImplementedError):
        return
    for name in files:
        default_storage.delete(f"{prefix}/{name}")


# --- API tokens ---------------------------------------------------------------------------

TOKEN_PREFIX = "aim_"


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """A new token; the secret is returned once and only its hash is stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the token a name, e.g. the script that will use it.")
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= settings.AIMAKER_MAX_API_TOKENS:
        raise ValidationError("You have too many tokens: revoke one you no longer use first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user, name=name[:100], prefix=secret[:12], token_hash=_token_hash(secret)
    )
    return token, secret


def token_revoke(*, token: PersonalToken) -> PersonalToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(*, secret: str) -> PersonalToken | None:
    token = (
        PersonalToken.objects.select_related("user")
        .filter(token_hash=_token_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # At most one write a minute per token: the hot path stays read-only.
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token

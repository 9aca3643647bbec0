"""Model versions: one per succeeded run, the default and its audit, comparing two versions;
PredictionError lives here as every version lookup can raise it."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from aimaker.ids import parse_id
from inference import serving
from inference.models import (
    DefaultSwitch,
    ModelVersion,
)
from inference.services.exports import exports_delete
from projects.models import Project
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
    number = parse_id(str(ref).strip().lower().removeprefix("v"))
    if number is None:
        raise PredictionError(f"Unknown version {ref!r}: use a number like 2, v2 or “latest”.")
    version = qs.filter(number=number).first()
    if version is None:
        raise PredictionError(f"This AI has no version v{number}.", status=404)
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

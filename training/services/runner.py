"""The worker side of a run: fetch its images, train, store its artifacts, report progress.

Keras is never imported at module level (training.ml imports it inside train() only): the web
process and the worker parent stay light."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from aimaker.db import db_retry, db_try
from datasets.models import Image
from projects.notify import notify_project
from projects.work import (
    Throttle,
    work_run,
)
from training.ml import ONNX_FILENAME, UNKNOWN_FILENAME
from training.ml.backbones import BackboneUnavailable
from training.ml.types import Sample, TrainingCancelled
from training.models import EpochMetric, TrainingRun
from training.services.runs import training_runs_dispatch, training_runs_fail_stale
from training.services.state import (
    PROGRESS_KEYS,
    training_epoch_dict,
    training_run_epochs,
    training_run_notify,
    training_run_state,
)
from training.signals import run_announced, run_succeeded

log = logging.getLogger(__name__)

ARTIFACT_FILES = ("model.keras", "labels.json", "preprocessing.json", "metrics.json", "run.json")


class RunReporter:
    """The progress callback and should_stop of training.ml.train for one run.

    Row writes and websocket events are throttled (a few a second); phase changes and epoch
    ends are never dropped: every epoch is stored as an EpochMetric row at once."""

    NOTIFY_EVERY = 0.3
    CHECK_EVERY = 0.5

    def __init__(
        self, run: TrainingRun, on_flush: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.run = run
        self.on_flush = on_flush
        self.state: dict[str, Any] = {}
        self._flush = Throttle(self.NOTIFY_EVERY)
        self._check = Throttle(self.CHECK_EVERY)
        self._stop = False
        self._pending_epochs: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        phase = event.get("phase") or self.run.phase
        phase_changed = phase != self.run.phase
        if phase_changed:
            self.state = {}  # a new phase starts its own counters
            self.run.phase = phase
        for key in PROGRESS_KEYS:
            if key in event:
                self.state[key] = event[key]
        if event.get("event") == "epoch":
            self._save_epoch(event)
        elif event.get("event") == "resumed":
            self._copy_resumed_epochs()
        if self._flush.due(force=phase_changed):
            self._write()

    def _save_epoch(self, event: dict[str, Any]) -> None:
        stage = "finetune" if event.get("phase") == "finetuning" else "head"
        values = {k: event.get(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
        metric, _ = db_retry(
            lambda: EpochMetric.objects.update_or_create(
                run=self.run, stage=stage, epoch=int(event["epoch"]), defaults=values
            )
        )
        self._pending_epochs.append(training_epoch_dict(metric))

    def _copy_resumed_epochs(self) -> None:
        # A resumed fine-tune run: show the epochs its previous attempt completed.
        if not self.run.retry_of_id:
            return
        for metric in EpochMetric.objects.filter(run_id=self.run.retry_of_id):
            EpochMetric.objects.update_or_create(
                run=self.run,
                stage=metric.stage,
                epoch=metric.epoch,
                defaults={
                    k: getattr(metric, k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                },
            )
        self._pending_epochs = training_run_epochs(run=self.run)

    def flush(self) -> None:
        self._flush.due(force=True)
        self._write()

    def _write(self) -> None:
        self.run.progress = dict(self.state)
        self.run.heartbeat_at = timezone.now()
        db_try(
            lambda: TrainingRun.objects.filter(pk=self.run.pk).update(
                phase=self.run.phase, progress=self.run.progress, heartbeat_at=self.run.heartbeat_at
            ),
            0,
        )
        if self._pending_epochs:
            notify_project(
                self.run.project_id,
                {"type": "training.epoch", "run_id": self.run.pk, "epochs": self._pending_epochs},
            )
            self._pending_epochs = []
        training_run_notify(self.run)
        if self.on_flush is not None:
            self.on_flush(training_run_state(run=self.run))

    def should_stop(self) -> bool:
        if not self._stop and self._check.due():
            self._stop = db_try(
                TrainingRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists, False
            )
        return self._stop


def _root_run_id(run: TrainingRun) -> int:
    seen = {run.pk}
    while run.retry_of_id and run.retry_of_id not in seen:
        seen.add(run.retry_of_id)
        run = TrainingRun.objects.only("pk", "retry_of_id").get(pk=run.retry_of_id)
    return run.pk


def training_resume_dir(*, run: TrainingRun) -> Path:
    """Fine-tune checkpoints, shared by a run and its retries."""
    return Path(settings.DATA_DIR) / "resume" / f"run-{_root_run_id(run)}"


def training_local_samples(
    *, snapshot: list[list[int]], workdir: Path, progress: Callable[[dict[str, Any]], None]
) -> tuple[list[Any], list[int]]:
    """Samples of `snapshot` ([[image_id, label_index], ...]) as local files. Local storage is
    read in place; remote storage is downloaded to `workdir` in batches. Images deleted
    meanwhile are skipped. Returns (samples, image_ids): image_ids[i] is sample i's image."""
    label_of = {image_id: label for image_id, label in snapshot}
    ids = [image_id for image_id, _ in snapshot]
    samples: list[Sample] = []
    image_ids: list[int] = []
    try:
        default_storage.path("probe")
        local = True
    except NotImplementedError:
        local = False
    batch = 200
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = Image.objects.filter(pk__in=chunk).only("pk", "normalized", "sha256")
        by_id = {row.pk: row for row in rows}
        for image_id in chunk:
            row = by_id.get(image_id)
            if row is None or not row.normalized:
                continue
            if local:
                path = default_storage.path(row.normalized.name)
                if not Path(path).exists():
                    continue
            else:
                path = str(workdir / "images" / f"{image_id}.jpg")
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                try:
                    with default_storage.open(row.normalized.name, "rb") as src:
                        with open(path, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                except (OSError, FileNotFoundError):
                    continue
            samples.append(Sample(path=path, label=label_of[image_id], key=row.sha256))
            image_ids.append(image_id)
        progress({"phase": "fetching", "done": min(start + batch, len(ids)), "total": len(ids)})
    return samples, image_ids


def _local_samples(
    run: TrainingRun, workdir: Path, reporter: RunReporter
) -> tuple[list[Any], list[int]]:
    samples, image_ids = training_local_samples(
        snapshot=run.snapshot, workdir=workdir, progress=reporter
    )
    present = {s.label for s in samples}
    missing = [name for i, name in enumerate(run.labels) if i not in present]
    if missing:
        raise ValueError(
            f"The images of {', '.join(missing)} were deleted since the run started; "
            "start a new run."
        )
    return samples, image_ids  # image_ids[i]: the image of sample i (metrics use indexes)


def _save_artifacts(run: TrainingRun, result: Any, out_dir: Path) -> str:
    """Write the artifact files locally, then upload them; returns the storage prefix."""
    prefix = f"projects/{run.project_id}/runs/{run.number}/"
    files = {
        "labels.json": result.labels,
        "preprocessing.json": result.preprocessing,
        "metrics.json": run.metrics,
        "run.json": {
            "project_id": run.project_id,
            "run_id": run.pk,
            "number": run.number,
            "mode": run.mode,
            "params": result.params,
            "backbone": result.backbone,
            "code_version": run.code_version,
            "labels": result.labels,
            "label_ids": run.label_ids,
            "image_count": run.image_count,
            "trained_image_count": len(run.metrics.get("image_ids", [])),
            "timings": run.timings,
            "extract_images_per_s": result.extract_images_per_s,
            "cache_hits": result.cache_hits,
            "cache_misses": result.cache_misses,
            "retry_of": run.retry_of_id,
            "created_at": run.created_at.isoformat(),
        },
    }
    for name, data in files.items():
        (out_dir / name).write_text(json.dumps(data, indent=1))
    local = {"model.keras": Path(result.model_path), **{n: out_dir / n for n in files}}
    names = list(ARTIFACT_FILES)
    if result.onnx_path:  # built from the cached backbone: serving needs no conversion
        local[ONNX_FILENAME] = Path(result.onnx_path)
        names.insert(1, ONNX_FILENAME)
    if result.unknown_path:  # the unknown-detector: serving reads it beside the model
        local[UNKNOWN_FILENAME] = Path(result.unknown_path)
        names.insert(1, UNKNOWN_FILENAME)
    for name in names:
        key = prefix + name
        if default_storage.exists(key):  # a leftover of an interrupted upload
            default_storage.delete(key)
        with open(local[name], "rb") as f:
            saved = default_storage.save(key, File(f, name=name))
        if saved != key:
            raise RuntimeError(f"Storage saved {key} as {saved}")
    return prefix


def training_run_execute(
    *, run_id: int, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> TrainingRun:
    """The body of the training job: runs the whole training of one run in this process.

    Every outcome ends the run (succeeded, cancelled or failed with a message); never stuck."""
    training_runs_fail_stale()  # a worker starting is a good moment to clean up after a dead one
    run = TrainingRun.objects.select_related("project").get(pk=run_id)
    reporter = RunReporter(run, on_progress)

    def start() -> bool:
        now = timezone.now()
        started = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            phase="starting",
            progress={},
            worker_name=_worker_name(),
        )
        run.refresh_from_db()
        if started:
            training_run_notify(run)
        return bool(started)

    def beat() -> object:
        # Keeps heartbeat_at fresh, so training_runs_fail_stale spots a dead worker.
        return TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )

    def body() -> None:
        with tempfile.TemporaryDirectory(
            prefix=f"aimaker-run-{run_id}-", ignore_cleanup_errors=True
        ) as workdir:
            _train_in(run, Path(workdir), reporter)

    def fail(exc: Exception) -> None:
        if isinstance(exc, TrainingCancelled):
            run.status = TrainingRun.Status.CANCELLED
            return
        if isinstance(exc, BackboneUnavailable):
            error = f"The pretrained backbone is unavailable: {exc}"
        elif isinstance(exc, ValueError):
            error = str(exc)
        else:
            log.exception("training run %s failed", run_id, exc_info=exc)
            error = f"Training failed: {exc.__class__.__name__}: {exc}"
        run.status = TrainingRun.Status.FAILED
        run.error = error[:5000]

    def end() -> None:
        run.finished_at = run.heartbeat_at = timezone.now()
        TrainingRun.objects.filter(pk=run.pk).update(
            **{
                name: getattr(run, name)
                for name in (
                    "status",
                    "phase",
                    "progress",
                    "metrics",
                    "timings",
                    "best_val_accuracy",
                    "artifact_prefix",
                    "error",
                    "finished_at",
                    "heartbeat_at",
                )
            }  # fmt: skip
        )
        run.refresh_from_db()

    if not work_run(start=start, beat=beat, body=body, fail=fail, end=end):
        return run  # cancelled while queued, or already run
    if run.status == TrainingRun.Status.SUCCEEDED:
        run_succeeded.send(sender=TrainingRun, run=run)  # e.g. its model version (v1, v2...)
        training_run_notify(run)  # the page hears "succeeded" first; then the slow part
        run_announced.send(sender=TrainingRun, run=run)
        return run
    training_run_notify(run)
    training_runs_dispatch()  # this owner's next run, if one waits
    return run


def _train_in(run: TrainingRun, workdir: Path, reporter: RunReporter) -> None:
    """Fetch, train, store: sets the run's metrics, timings and artifacts (not yet saved)."""
    from training import ml

    t0 = time.monotonic()
    params = ml.TrainParams.from_dict(run.params)
    resume_dir = training_resume_dir(run=run) if params.mode == "finetune" else None
    samples, image_ids = _local_samples(run, workdir, reporter)
    t_fetch = time.monotonic() - t0
    result = ml.train(
        samples=samples,
        labels=list(run.labels),
        params=params,
        backbone_weights=settings.AIMAKER_BACKBONE_WEIGHTS or None,
        cache_dir=str(settings.AIMAKER_FEATURE_CACHE_DIR),
        out_dir=str(workdir / "out"),
        progress=reporter,
        should_stop=reporter.should_stop,
        resume_dir=str(resume_dir) if resume_dir else None,
        extract_runtime=settings.AIMAKER_EXTRACT_RUNTIME,
    )
    reporter.flush()
    _sync_history(run, result.history)
    t_upload = time.monotonic()
    run.metrics = {
        **result.metrics,
        "image_ids": image_ids,
        "extract_images_per_s": result.extract_images_per_s,
        "extract_runtime": result.extract_runtime,
        "cache_hits": result.cache_hits,
        "cache_misses": result.cache_misses,
        "device": ml.device_info(),  # "NVIDIA H200 (141 GB) with jax", "CPU with torch"
    }
    run.timings = {**result.timings, "fetching": round(t_fetch, 3)}
    prefix = _save_artifacts(run, result, workdir / "out")
    run.timings["uploading"] = round(time.monotonic() - t_upload, 3)
    run.timings["job_total"] = round(time.monotonic() - t0, 3)
    run.artifact_prefix = prefix  # only once every file is in storage
    run.best_val_accuracy = result.metrics.get("val_accuracy")
    run.status = TrainingRun.Status.SUCCEEDED
    run.phase = "done"
    if resume_dir:
        shutil.rmtree(resume_dir, ignore_errors=True)


def _sync_history(run: TrainingRun, history: list[dict[str, Any]]) -> None:
    # Epoch rows the live callback may have missed (e.g. a resumed run's earlier epochs).
    for row in history:
        stage = "finetune" if row.get("phase") == "finetuning" else "head"
        EpochMetric.objects.get_or_create(
            run=run,
            stage=stage,
            epoch=int(row["epoch"]),
            defaults={k: row.get(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        )


def _worker_name() -> str:
    try:
        from rq import get_current_job

        job = get_current_job()
        if job is not None and job.worker_name:
            return job.worker_name[:200]
    except Exception:  # noqa: BLE001 - only informative
        pass
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"

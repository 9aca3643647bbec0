"""Business logic of training runs: start, cancel, retry, run (in a worker), fail stale runs.

Keras is never imported here at module level: the web process and the worker parent stay light;
training.ml is imported inside training_run_execute only.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django_rq
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone

from aimaker.db import db_retry, db_try
from projects.models import Label, Project
from projects.notify import notify_project
from projects.work import (
    LOST_AFTER,
    Throttle,
    rq_job_lost,
    stale_cutoff,
    work_dequeue,
    work_enqueue,
    work_run,
)
from training.ml import TEST_ONLY_WEIGHTS
from training.ml.types import TrainParams
from training.models import EpochMetric, TrainingRun
from training.signals import run_announced, run_succeeded

log = logging.getLogger(__name__)

QUEUE = "training"
ARTIFACT_FILES = ("model.keras", "labels.json", "preprocessing.json", "metrics.json", "run.json")
STALE_MESSAGE = (
    "The training worker stopped (killed or out of memory) and sent no heartbeat for {seconds} s. "
    "Retry the run; with a large dataset try a smaller batch size."
)
WAITING = "waiting"  # queued in the database, held back from RQ until fair (see dispatch)
PHASE_TEXT = {
    "queued": "Waiting for a training worker",
    "starting": "Starting",
    "fetching": "Fetching images",
    "preparing": "Loading the pretrained backbone",
    "converting": "Preparing the fast feature extractor (once per backbone)",
    "extracting": "Extracting image features",
    "training": "Training",
    "finetuning": "Fine-tuning",
    "evaluating": "Evaluating on the validation images",
    "saving": "Saving the model",
    "done": "Done",
}
# Fields of the latest progress event a page shows.
PROGRESS_KEYS = (
    "done", "total", "epoch", "epochs", "batch", "batches", "loss", "accuracy", "val_loss",
    "val_accuracy", "elapsed", "eta", "cache_hits", "images_per_s",
)  # fmt: skip


# --- Parameters and readiness -------------------------------------------------------------


def training_default_backbone() -> str:
    # The test-only random weights only fit the tiny test backbone; real weights the real one.
    return "tiny_test" if settings.AIMAKER_BACKBONE_WEIGHTS == TEST_ONLY_WEIGHTS else "mobilenet_v2"


def training_params_build(*, params: dict[str, Any] | None) -> TrainParams:
    """Defaults + the given values, validated; ValidationError with a readable message."""
    data = {"backbone": training_default_backbone(), **(params or {})}
    try:
        return TrainParams.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValidationError(str(exc)) from exc


def training_label_counts(*, project: Project) -> list[tuple[Label, int]]:
    """Labels in model order (creation order) with their image counts."""
    labels = project.labels.order_by("pk").annotate(n=Count("images"))
    return [(label, label.n) for label in labels]


def training_problems(*, project: Project) -> list[str]:
    """Why the project cannot be trained now (empty: ready)."""
    from datasets.services import dataset_summary

    summary = dataset_summary(project)
    problems = list(summary["problems"])
    with_images = sum(1 for row in summary["labels"] if row["count"])
    if with_images < 2 and len(summary["labels"]) >= 2:
        problems.insert(0, "Training needs at least two labels with images.")
    return problems


@functools.cache
def training_code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        if out.stdout.strip():
            return out.stdout.strip()[:100]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version

        return f"aimaker {version('aimaker')}"
    except Exception:  # noqa: BLE001 - not installed as a package
        return "aimaker 0.1.0"


# --- Run state for pages and events -------------------------------------------------------


def training_queue_position(*, run: TrainingRun) -> int | None:
    """1-based position of a queued run in the training queue (None when not queued)."""
    if run.status != TrainingRun.Status.QUEUED:
        return None
    try:
        position = django_rq.get_queue(QUEUE).get_job_position(run.rq_job_id or _rq_job_id(run))
    except Exception:  # noqa: BLE001 - Redis trouble must not break a page
        position = None
    if position is not None:
        return position + 1
    # Not (yet) in Redis: count the queued runs created before it.
    return TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, pk__lt=run.pk).count() + 1


def _phase_text(run: TrainingRun, p: dict[str, Any], position: int | None) -> str:
    if run.status == TrainingRun.Status.QUEUED and run.phase == WAITING:
        return "Queued: starts after your run that is ahead of it (other people's runs go first)"
    if run.status == TrainingRun.Status.QUEUED:
        return f"Queued: position {position} in the training queue" if position else "Queued"
    if run.status == TrainingRun.Status.SUCCEEDED:
        acc = run.best_val_accuracy
        return f"Succeeded: validation accuracy {acc:.1%}" if acc is not None else "Succeeded"
    if run.status == TrainingRun.Status.FAILED:
        return f"Failed: {run.error}"
    if run.status == TrainingRun.Status.CANCELLED:
        return "Cancelled"
    phase = run.phase or "starting"
    text = PHASE_TEXT.get(phase, phase.capitalize())
    if phase in ("extracting", "fetching") and p.get("total"):
        text += f" {p.get('done', 0)}/{p['total']}"
    elif phase in ("training", "finetuning") and p.get("epoch"):
        text += f": epoch {p['epoch']}/{p.get('epochs', '?')}"
        if p.get("batch"):
            text += f", batch {p['batch']}/{p.get('batches', '?')}"
    if run.cancel_requested:
        text += " (cancelling…)"
    return text


def _percent(run: TrainingRun, p: dict[str, Any]) -> float | None:
    if run.status == TrainingRun.Status.SUCCEEDED:
        return 100.0
    if run.status != TrainingRun.Status.RUNNING:
        return None
    if run.phase in ("extracting", "fetching") and p.get("total"):
        return round(100 * p.get("done", 0) / p["total"], 1)
    if run.phase in ("training", "finetuning") and p.get("epochs"):
        epoch = max(0, (p.get("epoch") or 1) - 1)
        frac = (p.get("batch") or 0) / p["batches"] if p.get("batches") else 0
        return round(min(100.0, 100 * (epoch + frac) / p["epochs"]), 1)
    return None


def training_run_state(*, run: TrainingRun) -> dict[str, Any]:
    """The JSON state of a run, shared by events, the snapshot and the pages."""
    p = run.progress or {}
    position = training_queue_position(run=run)
    state: dict[str, Any] = {
        "id": run.pk,
        "number": run.number,
        "status": run.status,
        "mode": run.mode,
        "phase": run.phase,
        "text": _phase_text(run, p, position),
        "percent": _percent(run, p),
        "cancel_requested": run.cancel_requested,
        "best_val_accuracy": run.best_val_accuracy,
        "error": run.error,
        "url": reverse("training:run", kwargs={"pk": run.project_id, "number": run.number}),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    for key in PROGRESS_KEYS:
        state[key] = p.get(key)
    if position is not None:
        state["queue_position"] = position
    return state


def training_epoch_dict(metric: EpochMetric) -> dict[str, Any]:
    return {
        "stage": metric.stage,
        "epoch": metric.epoch,
        "loss": metric.loss,
        "accuracy": metric.accuracy,
        "val_loss": metric.val_loss,
        "val_accuracy": metric.val_accuracy,
    }


def training_run_epochs(*, run: TrainingRun) -> list[dict[str, Any]]:
    # Head epochs first, then fine-tuning epochs: one continuous curve.
    rows = sorted(run.epochs.all(), key=lambda m: (m.stage != "head", m.epoch))
    return [training_epoch_dict(m) for m in rows]


def training_run_notify(run: TrainingRun) -> None:
    notify_project(run.project_id, {"type": "training", "run": training_run_state(run=run)})


def training_snapshot(project: Project) -> dict[str, Any]:
    """Websocket snapshot part: active runs + the latest few, with their curves."""
    runs_qs = project.runs.defer("snapshot", "metrics")  # both can be large
    active = list(runs_qs.filter(status__in=TrainingRun.ACTIVE))
    recent = list(runs_qs.exclude(status__in=TrainingRun.ACTIVE)[:5])
    runs = sorted(active + recent, key=lambda r: -r.number)
    return {
        "training": {
            "runs": [training_run_state(run=r) for r in runs],
            "epochs": {str(r.pk): training_run_epochs(run=r) for r in runs},
        }
    }


# --- Start, cancel, retry -----------------------------------------------------------------


def _rq_job_id(run: TrainingRun) -> str:
    return f"aimaker-training-run-{run.pk}"


def _create_run(**fields: Any) -> TrainingRun:
    project: Project = fields["project"]
    for _ in range(5):  # two starts at once may pick the same number: try the next
        number = (project.runs.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                return TrainingRun.objects.create(number=number, **fields)
        except IntegrityError:
            continue
    raise ValidationError("Could not number the run; try again.")


def _enqueue(run: TrainingRun) -> None:
    """Put a committed run in the training queue; with Redis down, fail it with a message."""
    job_id = _rq_job_id(run)
    TrainingRun.objects.filter(pk=run.pk).update(rq_job_id=job_id)
    run.rq_job_id = job_id

    def fail(exc: Exception) -> None:
        TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.FAILED,
            error=f"Could not queue the run (the job queue is unavailable: {exc}). Retry it.",
            finished_at=timezone.now(),
        )
        run.refresh_from_db()

    work_enqueue(
        queue=QUEUE,
        func="training.jobs.train_run",
        args=(run.pk,),
        rq_job_id=job_id,
        fail=fail,
        job_timeout=settings.AIMAKER_TRAINING_JOB_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    training_run_notify(run)


def training_run_start(
    *, project: Project, user: User | None, params: dict[str, Any], enqueue: bool = True
) -> TrainingRun:
    """Create a run on the project's current images and queue it (on commit).

    Raises ValidationError when the project is not ready or a parameter is bad."""
    train_params = training_params_build(params=params)
    problems = training_problems(project=project)
    if problems:
        raise ValidationError(problems)
    _check_active_limits(project)
    from datasets.models import Image

    labels = [label for label, _ in training_label_counts(project=project)]
    index = {label.pk: i for i, label in enumerate(labels)}
    pairs = Image.objects.filter(project=project).order_by("pk").values_list("pk", "label_id")
    snapshot = [[image_id, index[label_id]] for image_id, label_id in pairs if label_id in index]
    with transaction.atomic():
        run = _create_run(
            project=project,
            created_by=user,
            mode=train_params.mode,
            params=train_params.to_dict(),
            labels=[label.name for label in labels],
            label_ids=[label.pk for label in labels],
            snapshot=snapshot,
            image_count=len(snapshot),
            code_version=training_code_version(),
            phase=WAITING if enqueue else "queued",
        )
        if enqueue:
            transaction.on_commit(lambda: _dispatch_and_refresh(run))
    return run


def training_run_retry(*, run: TrainingRun, user: User | None) -> TrainingRun:
    """A new run with the same parameters and dataset snapshot; a fine-tune run resumes."""
    if run.status not in (TrainingRun.Status.FAILED, TrainingRun.Status.CANCELLED):
        raise ValidationError("Only a failed or cancelled run can be retried.")
    _check_active_limits(run.project)
    with transaction.atomic():
        new = _create_run(
            project=run.project,
            created_by=user,
            mode=run.mode,
            params=run.params,
            labels=run.labels,
            label_ids=run.label_ids,
            snapshot=run.snapshot,
            image_count=run.image_count,
            code_version=training_code_version(),
            phase=WAITING,
            retry_of=run,
        )
        transaction.on_commit(lambda: _dispatch_and_refresh(new))
    return new


ACTIVE = (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)


def _check_active_limits(project: Project) -> None:
    """One user may not fill the training workers: caps on runs queued or running."""
    active = TrainingRun.objects.filter(status__in=ACTIVE)
    if active.filter(project=project).count() >= settings.AIMAKER_MAX_ACTIVE_RUNS_PER_PROJECT:
        raise ValidationError(
            f"This AI already has {settings.AIMAKER_MAX_ACTIVE_RUNS_PER_PROJECT} runs queued or "
            "running. Wait for one to finish, or cancel one."
        )
    if active.filter(project__owner_id=project.owner_id).count() >= (
        settings.AIMAKER_MAX_ACTIVE_RUNS_PER_USER
    ):
        raise ValidationError(
            f"You already have {settings.AIMAKER_MAX_ACTIVE_RUNS_PER_USER} runs queued or running "
            "across your AIs. Wait for one to finish, or cancel one."
        )


def _dispatch_and_refresh(run: TrainingRun) -> None:
    training_runs_dispatch()
    run.refresh_from_db()  # the caller's instance shows whether it went to the queue


def training_runs_dispatch() -> int:
    """Send waiting runs to the training queue, fairly: an owner with a run already in the
    queue or running waits, so everyone's first run goes before anyone's second. When the
    queue is empty (idle workers), the oldest waiting run goes anyway."""
    waiting = list(
        TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, phase=WAITING)
        .select_related("project")
        .order_by("pk")
    )
    if not waiting:
        return 0
    busy = set(
        TrainingRun.objects.filter(status__in=ACTIVE)
        .exclude(phase=WAITING)
        .values_list("project__owner_id", flat=True)
    )
    try:
        idle = django_rq.get_queue(QUEUE).count == 0
    except Exception:  # noqa: BLE001 - Redis down: _enqueue fails the run with a message
        idle = True

    def send(run: TrainingRun) -> bool:
        claimed = TrainingRun.objects.filter(
            pk=run.pk, status=TrainingRun.Status.QUEUED, phase=WAITING
        ).update(phase="queued")
        if claimed:  # else another process dispatched (or someone cancelled) it meanwhile
            run.phase = "queued"
            busy.add(run.project.owner_id)
            _enqueue(run)
        return bool(claimed)

    sent = sum(send(run) for run in waiting if run.project.owner_id not in busy)
    if not sent and idle:
        sent = int(send(waiting[0]))  # nobody else is waiting: use the idle worker
    return sent


def training_run_cancel(*, run: TrainingRun) -> TrainingRun:
    """A queued run is cancelled at once (and leaves the queue); a running one stops at its
    next batch."""
    now = timezone.now()
    if run.status == TrainingRun.Status.QUEUED:
        updated = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.CANCELLED, cancel_requested=True, finished_at=now
        )
        if updated:
            work_dequeue(queue=QUEUE, rq_job_id=run.rq_job_id or _rq_job_id(run))
            run.refresh_from_db()
            training_run_notify(run)
            training_runs_dispatch()
            return run
    if run.status == TrainingRun.Status.RUNNING:
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    run.refresh_from_db()
    training_run_notify(run)
    return run


def training_runs_sweep() -> int:
    """The monitor's tick: a waiting run whose turn came while a hook was missed goes now."""
    training_runs_dispatch()
    return 0  # dispatching cleans nothing up


def training_runs_fail_stale(*, project: Project | None = None) -> int:
    """Mark as failed the runs that can never finish: running ones whose worker stopped
    sending heartbeats (killed, out of memory...), and queued ones the queue lost."""
    cutoff = stale_cutoff()
    qs = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    queued = TrainingRun.objects.filter(
        status=TrainingRun.Status.QUEUED, created_at__lt=timezone.now() - LOST_AFTER
    ).exclude(phase=WAITING)  # held back on purpose, not lost
    if project is not None:
        qs, queued = qs.filter(project=project), queued.filter(project=project)
    count = 0
    for run in queued:
        # A queued run the queue no longer knows can never start: say so, so it can be retried.
        if rq_job_lost(run.rq_job_id or _rq_job_id(run), queue=QUEUE):
            count += TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
                status=TrainingRun.Status.FAILED,
                error="This run was lost from the training queue (was Redis restarted?). Retry it.",
                finished_at=timezone.now(),
            )
            run.refresh_from_db()
            training_run_notify(run)
    for run in qs:
        # Conditional update: a heartbeat that arrived meanwhile keeps the run alive.
        updated = TrainingRun.objects.filter(
            pk=run.pk, status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff
        ).update(
            status=TrainingRun.Status.FAILED,
            error=STALE_MESSAGE.format(seconds=settings.AIMAKER_JOB_STALE_SECONDS),
            finished_at=timezone.now(),
        )
        if updated:
            count += 1
            run.refresh_from_db()
            log.warning("training run %s: worker gone, marked failed", run.pk)
            training_run_notify(run)
    if count:
        training_runs_dispatch()
    return count


# --- Running (inside the worker) ----------------------------------------------------------


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


def _local_samples(
    run: TrainingRun, workdir: Path, reporter: RunReporter
) -> tuple[list[Any], list[int]]:
    """Samples of the run's snapshot as local files. Local storage is read in place; remote
    storage is downloaded to `workdir` in batches. Images deleted since the start are skipped."""
    from datasets.models import Image
    from training.ml.types import Sample

    label_of = {image_id: label for image_id, label in run.snapshot}
    ids = [image_id for image_id, _ in run.snapshot]
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
        reporter({"phase": "fetching", "done": min(start + batch, len(ids)), "total": len(ids)})
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
        from training.ml import ONNX_FILENAME

        local[ONNX_FILENAME] = Path(result.onnx_path)
        names.insert(1, ONNX_FILENAME)
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
        from training.ml.types import BackboneUnavailable, TrainingCancelled

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

"""What pages and events show of a run: its state, phase text, queue position, curves, and the
websocket snapshot part."""

from __future__ import annotations

import logging
from typing import Any

import django_rq
from django.urls import reverse

from projects.models import Project
from projects.notify import notify_project
from training.models import EpochMetric, TrainingRun

log = logging.getLogger(__name__)

QUEUE = "training"
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


def training_run_rq_job_id(*, run: TrainingRun) -> str:
    return run.rq_job_id or f"aimaker-training-run-{run.pk}"


def training_queue_position(*, run: TrainingRun) -> int | None:
    """1-based position of a queued run in the training queue (None when not queued)."""
    if run.status != TrainingRun.Status.QUEUED:
        return None
    try:
        position = django_rq.get_queue(QUEUE).get_job_position(training_run_rq_job_id(run=run))
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

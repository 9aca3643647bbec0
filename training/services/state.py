"""What pages and events show of a run: its state, phase text, queue position, curves, and the
websocket snapshot part."""

from __future__ import annotations

import logging
from bisect import bisect_left
from typing import Any

import django_rq
from django.db.models import Max, Q
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


def training_queue_positions(*, runs: list[TrainingRun]) -> dict[int, int]:
    """1-based positions of the queued ones among `runs` in the training queue: one Redis
    read, and one query when some are not (yet) in Redis (they count after the queued runs
    created before them)."""
    queued = [run for run in runs if run.status == TrainingRun.Status.QUEUED]
    if not queued:
        return {}
    try:
        index = {job_id: i for i, job_id in enumerate(django_rq.get_queue(QUEUE).get_job_ids())}
    except Exception:  # noqa: BLE001 - Redis trouble must not break a page
        index = {}
    positions: dict[int, int] = {}
    missing = []
    for run in queued:
        i = index.get(training_run_rq_job_id(run=run))
        if i is None:
            missing.append(run)
        else:
            positions[run.pk] = i + 1
    if missing:
        ahead = sorted(
            TrainingRun.objects.filter(
                status=TrainingRun.Status.QUEUED, pk__lt=max(run.pk for run in missing)
            ).values_list("pk", flat=True)
        )
        for run in missing:
            positions[run.pk] = bisect_left(ahead, run.pk) + 1
    return positions


def training_queue_position(*, run: TrainingRun) -> int | None:
    """1-based position of a queued run in the training queue (None when not queued)."""
    return training_queue_positions(runs=[run]).get(run.pk)


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


def training_run_state(
    *, run: TrainingRun, positions: dict[int, int] | None = None
) -> dict[str, Any]:
    """The JSON state of a run, shared by events, the snapshot and the pages. Pass the
    `positions` of training_queue_positions() when showing many runs."""
    p = run.progress or {}
    position = training_queue_position(run=run) if positions is None else positions.get(run.pk)
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


def training_cards(projects: list[Project]) -> dict[int, dict[str, Any]]:
    """The run each "My AIs" card shows: the running one, else the latest. Two queries and
    one Redis read whatever the number of projects."""
    ids = [project.pk for project in projects]
    if not ids:
        return {}
    latest = (
        TrainingRun.objects.filter(project_id__in=ids)
        .values("project_id")
        .annotate(last=Max("pk"))
        .values("last")
    )
    rows = TrainingRun.objects.filter(
        Q(pk__in=latest) | Q(project_id__in=ids, status=TrainingRun.Status.RUNNING)
    ).defer("snapshot", "metrics", "label_ids", "labels")
    shown: dict[int, TrainingRun] = {}
    for run in sorted(rows, key=lambda r: (r.status == TrainingRun.Status.RUNNING, r.pk)):
        shown[run.project_id] = run  # a running run wins over a newer queued one
    positions = training_queue_positions(runs=list(shown.values()))
    return {
        project_id: {
            "run": training_run_state(run=run, positions=positions),
            "active_at": max(t for t in (run.created_at, run.heartbeat_at, run.finished_at) if t),
        }
        for project_id, run in shown.items()
    }

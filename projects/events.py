"""The visitor form of live events: what a non-owner's websocket may carry.

The notifier sends one event to the project's group; each socket picks the owner form (the
event as sent) or this reduced one. Visitors get progress (kind, status, counts) and never
file names, error texts, messages, rejection details or training hints."""

from __future__ import annotations

from typing import Any

from projects.models import Job

_JOB_KEYS = ("id", "kind", "status", "done", "total", "percent", "started_at", "finished_at")
_RUN_KEYS = (
    "id", "number", "status", "mode", "phase", "text", "percent", "cancel_requested",
    "best_val_accuracy", "url", "started_at", "finished_at", "queue_position", "done", "total",
    "epoch", "epochs", "batch", "batches", "loss", "accuracy", "val_loss", "val_accuracy",
    "elapsed", "eta", "cache_hits", "images_per_s",
)  # fmt: skip


def _job(job: dict[str, Any]) -> dict[str, Any]:
    kind = job.get("kind", "")
    # The title can name an uploaded file ("Import holiday-photos.zip"): say the kind instead.
    title = Job.Kind(kind).label if kind in Job.Kind.values else "Background work"
    return {**{k: job.get(k) for k in _JOB_KEYS}, "title": title}


def _collection(event: dict[str, Any]) -> dict[str, Any]:
    labels = {
        key: {k: row.get(k) for k in ("name", "target", "have", "done", "exhausted")}
        for key, row in (event.get("labels") or {}).items()
    }
    return {"type": event.get("type", "collect"), "job_id": event.get("job_id"),
            "title": "Web collection", "status": event.get("status"), "labels": labels}  # fmt: skip


def visitor_run(run: dict[str, Any]) -> dict[str, Any]:
    """A training run's state as a visitor may see it (pages and sockets alike)."""
    reduced = {k: run[k] for k in _RUN_KEYS if k in run}
    if run.get("status") == "failed":
        reduced["text"] = "Failed."  # the owner's text carries the error
    return reduced


def _data(data: dict[str, Any]) -> dict[str, Any]:
    # Counts only: "ready to train" and its problems are the owner's to-do list.
    labels = [{k: row.get(k) for k in ("id", "name", "count")} for row in data.get("labels") or []]
    return {"labels": labels, "total": data.get("total", 0)}


def visitor_event(event: dict[str, Any]) -> dict[str, Any]:
    """The form of `event` a visitor's socket sends. Events of unknown types carry nothing."""
    kind = event.get("type")
    if kind == "job":
        return {"type": "job", "job": _job(event.get("job") or {})}
    if kind == "collect":
        return _collection(event)
    if kind == "data":
        return {"type": "data", "data": _data(event.get("data") or {})}
    if kind == "training":
        return {"type": "training", "run": visitor_run(event.get("run") or {})}
    if kind == "training.epoch":
        return event  # curves: numbers only
    if kind == "snapshot":
        reduced: dict[str, Any] = {"type": "snapshot", "project": event.get("project")}
        if "jobs" in event:
            reduced["jobs"] = [_job(job) for job in event["jobs"]]
        if "collections" in event:
            reduced["collections"] = [_collection(c) for c in event["collections"]]
        if "data" in event:
            reduced["data"] = _data(event["data"])
        if "training" in event:
            training = event["training"]
            reduced["training"] = {
                "runs": [visitor_run(run) for run in training.get("runs") or []],
                "epochs": training.get("epochs") or {},
            }
        return reduced
    return {"type": kind}

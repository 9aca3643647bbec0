"""What the staff operations page shows: queues, workers, the work running now across all
users, what finished in the last 24 h, and two charts. The database rows are the truth about
work; Redis is asked only for what it alone knows (queue lengths, workers)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from aimaker.ops import workers_alive
from projects.models import Job
from projects.services import job_event
from training.ml.device import device_text
from training.models import TrainingRun
from training.services import (
    WAITING,
    training_queue_positions,
    training_run_rq_job_id,
    training_run_state,
)

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
SAMPLE_EVERY = timedelta(minutes=10)  # the queue-length chart's resolution
FINISHED_SHOWN = 100
_LIGHT = ("snapshot", "metrics", "label_ids", "labels", "params")  # large, unused here


def _aware(moment: datetime | None) -> datetime | None:
    # RQ keeps naive UTC times.
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 1) if start and end else None


def ops_queues(*, now: datetime) -> list[dict[str, Any]]:
    """Every queue with its length and the age of its oldest waiting job."""
    held = TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, phase=WAITING)
    queues = []
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name)
        head = queue.get_job_ids(0, 1)
        job = queue.fetch_job(head[0]) if head else None
        enqueued_at = _aware(job.enqueued_at) if job is not None else None
        row: dict[str, Any] = {
            "name": name,
            "length": queue.count,
            "running": queue.started_job_registry.count,
            "oldest_age_s": _seconds(enqueued_at, now),
        }
        if name == "training":
            # Runs held back in the database until their owner's turn (fair share).
            oldest = held.order_by("created_at").values_list("created_at", flat=True).first()
            row["held_back"] = held.count()
            if oldest is not None:
                row["oldest_age_s"] = max(row["oldest_age_s"] or 0, _seconds(oldest, now) or 0)
        queues.append(row)
    return queues


def ops_workers(*, runs: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live workers, each with what it works on and the device it trains on where a run
    it finished recorded one."""
    workers = workers_alive()
    working = {w["current_job"]: w for w in workers if w["current_job"]}
    for item in runs + jobs:
        worker = working.get(item["rq_job_id"])
        if worker is not None:
            worker["working_on"] = item["title"]
    devices: dict[str, str] = {}
    names = [w["name"] for w in workers]
    recorded = (
        TrainingRun.objects.filter(worker_name__in=names, status=TrainingRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("worker_name", "metrics__device")
    )
    for name, device in recorded[:200]:
        if device and name not in devices:
            devices[name] = device_text(device) if isinstance(device, dict) else str(device)
    for worker in workers:
        worker["device"] = devices.get(worker["name"])
    return workers


def _owner_part(project: Any) -> dict[str, Any]:
    return {
        "project": {"id": project.pk, "name": project.name, "url": project.get_absolute_url()},
        "owner": project.owner.username,
    }


def ops_runs_active() -> list[dict[str, Any]]:
    rows = list(
        TrainingRun.objects.filter(status__in=TrainingRun.ACTIVE)
        .select_related("project__owner")
        .defer(*_LIGHT)
        .order_by("pk")
    )
    positions = training_queue_positions(runs=rows)
    return [
        {
            **training_run_state(run=run, positions=positions),
            **_owner_part(run.project),
            "title": f"{run.project.name} · run #{run.number}",
            "worker": run.worker_name,
            "rq_job_id": training_run_rq_job_id(run=run),
            "cancel_url": reverse("ops:run_cancel", args=[run.pk]),
        }
        for run in rows
    ]


def ops_jobs_active() -> list[dict[str, Any]]:
    rows = Job.objects.filter(status__in=Job.ACTIVE).select_related("project__owner").order_by("pk")
    return [
        {
            **job_event(job)["job"],
            **_owner_part(job.project),
            "rq_job_id": job.rq_job_id,
            "cancel_url": reverse("ops:job_cancel", args=[job.pk]),
            "cancel_requested": job.cancel_requested,
        }
        for job in rows
    ]


def _finished(row: Any, *, kind: str, title: str, url: str | None) -> dict[str, Any]:
    """A finished run or job (both have the same times, status, error and canceller)."""
    return {
        "kind": kind,
        "title": title,
        "url": url,
        "status": row.status,
        "error": row.error,
        "wait_s": _seconds(row.created_at, row.started_at),
        "duration_s": _seconds(row.started_at, row.finished_at),
        "finished_at": row.finished_at,
        "cancelled_by": row.cancelled_by.username if row.cancelled_by else None,
        **_owner_part(row.project),
    }


def ops_finished(*, now: datetime) -> list[dict[str, Any]]:
    """Runs and jobs finished in the last 24 h, newest first, with durations and reasons."""
    since = now - WINDOW
    runs = (
        TrainingRun.objects.filter(finished_at__gte=since)
        .select_related("project__owner", "cancelled_by")
        .defer(*_LIGHT)
        .order_by("-finished_at")[:FINISHED_SHOWN]
    )
    jobs = (
        Job.objects.filter(finished_at__gte=since)
        .select_related("project__owner", "cancelled_by")
        .defer("params", "result")
        .order_by("-finished_at")[:FINISHED_SHOWN]
    )
    items = [
        _finished(
            run,
            kind="Training run",
            title=f"run #{run.number}",
            url=reverse("training:run", kwargs={"pk": run.project_id, "number": run.number}),
        )
        for run in runs
    ]
    items += [
        _finished(job, kind=job.get_kind_display(), title=job.title, url=None) for job in jobs
    ]
    items.sort(key=lambda item: item["finished_at"], reverse=True)
    for item in items[:FINISHED_SHOWN]:
        item["finished_at"] = item["finished_at"].isoformat()
    return items[:FINISHED_SHOWN]


def _waiting_intervals(model: Any, *, since: datetime, now: datetime) -> list[tuple]:
    """(queued from, queued until or None while still waiting) of every row that waited at
    some point since `since`."""
    rows = model.objects.filter(created_at__lte=now).filter(
        Q(started_at__gte=since)
        | Q(started_at__isnull=True, finished_at__gte=since)
        | Q(started_at__isnull=True, finished_at__isnull=True)
    )
    return [
        (created, started or finished)
        for created, started, finished in rows.values_list(
            "created_at", "started_at", "finished_at"
        )
    ]


def ops_charts(*, now: datetime) -> dict[str, Any]:
    """Queue length (sampled every 10 minutes, from the rows' own times) and runs finished per
    hour by outcome, over the last 24 h."""
    since = now - WINDOW
    samples = [since + SAMPLE_EVERY * i for i in range(int(WINDOW / SAMPLE_EVERY) + 1)]
    series = {}
    for name, model in (("training", TrainingRun), ("jobs", Job)):
        intervals = _waiting_intervals(model, since=since, now=now)
        series[name] = [
            sum(1 for a, b in intervals if a <= t and (b is None or t < b)) for t in samples
        ]
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h)
        for h in range(23, -1, -1)
    ]
    outcomes = {s: [0] * len(hours) for s in ("succeeded", "failed", "cancelled")}
    finished = TrainingRun.objects.filter(finished_at__gte=hours[0]).values_list(
        "finished_at", "status"
    )
    for finished_at, status in finished:
        index = int((finished_at - hours[0]) / timedelta(hours=1))
        if status in outcomes and 0 <= index < len(hours):
            outcomes[status][index] += 1
    return {
        "queue": {
            "times": [timezone.localtime(t).strftime("%H:%M") for t in samples],
            "series": series,
        },
        "runs_per_hour": {
            "hours": [timezone.localtime(h).strftime("%H:00") for h in hours],
            "series": outcomes,
        },
    }


def ops_snapshot() -> dict[str, Any]:
    """Everything the page shows, as JSON. Redis being down leaves queues and workers empty
    with a note, and the rest of the page still works."""
    now = timezone.now()
    runs, jobs = ops_runs_active(), ops_jobs_active()
    data: dict[str, Any] = {"runs": runs, "jobs": jobs, "redis_error": None}
    try:
        data["queues"] = ops_queues(now=now)
        data["workers"] = ops_workers(runs=runs, jobs=jobs)
    except Exception as exc:  # noqa: BLE001 - the page says so instead of failing
        log.warning("operations page: Redis unavailable", exc_info=True)
        data.update(queues=[], workers=[], redis_error=exc.__class__.__name__)
    data["finished"] = ops_finished(now=now)
    data["charts"] = ops_charts(now=now)
    data["at"] = now.isoformat()
    return data

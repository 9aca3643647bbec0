"""Business logic for projects, labels and background jobs. Views, jobs and commands call these."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from aimaker.db import db_try
from projects.models import Job, Label, Project
from projects.notify import notify_access_changed, notify_project
from projects.work import (
    LOST_AFTER,
    Throttle,
    rq_job_lost,
    stale_cutoff,
    work_enqueue,
    work_run,
)

log = logging.getLogger(__name__)


# --- Projects -----------------------------------------------------------------------------


def project_create(
    *,
    owner: User,
    name: str,
    description: str = "",
    visibility: str = Project.Visibility.PRIVATE,
    keep_visitor_images: bool = True,
    screen_uploads: bool = False,
) -> Project:
    return Project.objects.create(
        owner=owner,
        name=name.strip(),
        description=description.strip(),
        visibility=visibility,
        screen_uploads=screen_uploads,
        keep_visitor_images=keep_visitor_images,
    )


def project_update(
    *,
    project: Project,
    name: str,
    description: str,
    visibility: str,
    keep_visitor_images: bool = True,
    screen_uploads: bool = False,
) -> Project:
    # From the stored row: a validated ModelForm has already copied its data onto `project`.
    was_public = Project.objects.get(pk=project.pk).is_public
    project.name, project.description, project.visibility = name, description, visibility
    project.keep_visitor_images = keep_visitor_images
    project.screen_uploads = screen_uploads
    project.save()
    if was_public and not project.is_public:
        transaction.on_commit(lambda: notify_access_changed(project.pk))
    return project


def project_set_hidden(*, project: Project, hidden: bool, note: str = "") -> Project:
    project.hidden = hidden
    project.moderation_note = note if hidden else ""
    project.save(update_fields=["hidden", "moderation_note", "updated_at"])
    if hidden:
        transaction.on_commit(lambda: notify_access_changed(project.pk))
    return project


# --- Labels -------------------------------------------------------------------------------


def label_parse_names(text: str) -> list[str]:
    """One label per line or comma separated; surrounding blanks trimmed, empty pieces dropped."""
    return [piece.strip() for piece in re.split(r"[,\n\r]+", text) if piece.strip()]


def _check_label_name(name: str) -> str | None:
    limit = settings.AIMAKER_LABEL_MAX_LENGTH
    if len(name) > limit:
        return f"“{name[:20]}…” is too long ({len(name)} characters, at most {limit})."
    return None


def _check_label_limit(*, existing: int, adding: int) -> str | None:
    limit = settings.AIMAKER_PROJECT_MAX_LABELS
    if existing + adding > limit:
        return (
            f"A project has at most {limit} labels: it has {existing}, and this would add {adding}."
        )
    return None


def label_create_many(*, project: Project, text: str) -> list[Label]:
    """Create every label named in `text`, or none of them: any problem raises ValidationError
    listing all problems, and nothing already saved changes."""
    names = label_parse_names(text)
    if not names:
        raise ValidationError("Type at least one label name.")
    errors: list[str] = []
    existing = {n.lower(): n for n in project.labels.values_list("name", flat=True)}
    seen: dict[str, str] = {}
    for name in names:
        problem = _check_label_name(name)
        if problem:
            errors.append(problem)
        elif name.lower() in existing:
            errors.append(f"“{name}” already exists in this project.")
        elif name.lower() in seen:
            errors.append(f"“{name}” is listed more than once.")
        seen[name.lower()] = name
    problem = _check_label_limit(existing=len(existing), adding=len(seen))
    if problem:
        errors.append(problem)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return [Label.objects.create(project=project, name=name) for name in seen.values()]


def labels_get_or_create(
    *, project: Project, names: Iterable[str]
) -> tuple[dict[str, Label], list[str]]:
    """The labels named (case-insensitive; blanks collapsed), creating the missing ones, e.g.
    for the folders of an imported archive.

    Returns ({name.lower(): label}, created names). Raises ValidationError, creating nothing,
    when a name breaks the label rules or the project would have too many labels."""
    existing = {label.name.lower(): label for label in project.labels.all()}
    wanted: dict[str, str] = {}
    errors: list[str] = []
    for raw in names:
        name = " ".join(raw.split())
        if not name:
            continue
        problem = _check_label_name(name)
        if problem:
            errors.append(problem)
        elif name.lower() not in existing:
            wanted.setdefault(name.lower(), name)
    problem = _check_label_limit(existing=len(existing), adding=len(wanted))
    if problem:
        errors.append(problem)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for key, name in wanted.items():
            existing[key] = Label.objects.create(project=project, name=name)
    return existing, list(wanted.values())


def label_rename(*, label: Label, name: str) -> Label:
    name = name.strip()
    if not name:
        raise ValidationError("A label needs a name.")
    problem = _check_label_name(name)
    if problem:
        raise ValidationError(problem)
    clash = (
        Label.objects.filter(project_id=label.project_id)
        .annotate(lname=Lower("name"))
        .filter(lname=name.lower())
        .exclude(pk=label.pk)
    )
    if clash.exists():
        raise ValidationError(f"“{name}” already exists in this project.")
    label.name = name
    label.save(update_fields=["name"])
    return label


def label_delete(*, label: Label) -> None:
    label.delete()


# --- Jobs (on the runtime in projects/work.py) --------------------------------------------

LOST_MESSAGE = "This job was lost from the queue (was Redis restarted?). Start it again."
STALE_MESSAGE = "The worker running this job stopped responding. Start it again."


class JobCancelled(Exception):
    pass


def job_event(job: Job) -> dict[str, Any]:
    percent = round(100 * job.done / job.total) if job.total else None
    return {
        "type": "job",
        "job": {
            "id": job.pk,
            "kind": job.kind,
            "title": job.title,
            "status": job.status,
            "done": job.done,
            "total": job.total,
            "percent": percent,
            "message": job.message,
            "error": job.error,
            "result": job.result,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        },
    }


def job_notify(job: Job) -> None:
    notify_project(job.project_id, job_event(job))


def job_create(
    *,
    project: Project,
    user: User | None,
    kind: str,
    title: str,
    func: str,
    queue: str = "default",
    params: dict[str, Any] | None = None,
    total: int = 0,
    timeout: int | None = None,
) -> Job:
    """Create the job row and enqueue `func(job_id)` once the transaction commits."""
    limit = Job._meta.get_field("title").max_length
    job = Job.objects.create(
        project=project,
        created_by=user,
        kind=kind,
        title=title if len(title) <= limit else title[: limit - 1] + "…",  # e.g. a long ZIP name
        params=params or {},
        total=total,
    )
    rq_job_id = f"aimaker-job-{job.pk}"

    def fail(exc: Exception) -> None:
        Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            error="The job could not be queued (the queue is unreachable). Try again.",
            finished_at=timezone.now(),
        )

    def enqueue() -> None:
        if work_enqueue(
            queue=queue, func=func, args=(job.pk,), rq_job_id=rq_job_id, fail=fail,
            job_timeout=timeout,
        ):  # fmt: skip
            Job.objects.filter(pk=job.pk).update(rq_job_id=rq_job_id)
        job.refresh_from_db()
        job_notify(job)

    transaction.on_commit(enqueue)
    return job


def job_cancel(*, job: Job, by: User | None = None) -> Job:
    """Ask a job to stop, recording who asked (`by`: the owner, or staff). A queued job is
    cancelled at once; a running one stops at its next progress check."""
    by_id = by.pk if by is not None else None
    if job.status == Job.Status.QUEUED:
        updated = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.CANCELLED,
            cancel_requested=True,
            cancelled_by_id=by_id,
            finished_at=timezone.now(),
            message="Cancelled before it started.",
        )
        if updated:
            job.refresh_from_db()
            job_notify(job)
            return job
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        cancel_requested=True, cancelled_by_id=by_id
    )
    job.refresh_from_db()
    return job


def jobs_fail_stale(*, project: Project | None = None) -> int:
    """Mark as failed the jobs that can never finish: running ones whose worker stopped
    sending heartbeats (killed), and queued ones the queue lost."""
    running = Job.objects.filter(status=Job.Status.RUNNING, updated_at__lt=stale_cutoff())
    queued = Job.objects.filter(
        status=Job.Status.QUEUED, created_at__lt=timezone.now() - LOST_AFTER
    )
    if project is not None:
        running, queued = running.filter(project=project), queued.filter(project=project)
    failures = [(job, STALE_MESSAGE) for job in running]
    failures += [(job, LOST_MESSAGE) for job in queued if rq_job_lost(job.rq_job_id)]
    count = 0
    for job, error in failures:
        count += Job.objects.filter(pk=job.pk, status=job.status).update(
            status=Job.Status.FAILED, error=error, finished_at=timezone.now()
        )
        job.refresh_from_db()
        job_notify(job)
    return count


class JobReporter:
    """Handed to the work function of a job: reports progress and checks for cancellation.

    Database writes and websocket events are throttled, so calling it per item is fine."""

    NOTIFY_EVERY = 0.25  # seconds: a few events a second at most
    CHECK_EVERY = 0.5

    def __init__(self, job: Job) -> None:
        self.job = job
        self._notify = Throttle(self.NOTIFY_EVERY)
        self._check = Throttle(self.CHECK_EVERY)

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        self.job.done = done
        if total is not None:
            self.job.total = total
        if message is not None:
            self.job.message = message[:500]
        finished = bool(self.job.total) and done >= self.job.total
        if self._notify.due(force=finished):
            self.job.updated_at = timezone.now()
            db_try(
                lambda: Job.objects.filter(pk=self.job.pk).update(
                    done=self.job.done,
                    total=self.job.total,
                    message=self.job.message,
                    updated_at=self.job.updated_at,
                ),
                0,
            )
            job_notify(self.job)
        self.check_cancelled()

    def check_cancelled(self) -> None:
        if self._check.due() and db_try(
            Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists, False
        ):
            raise JobCancelled()


def job_run(*, job_id: int, work: Callable[[Job, JobReporter], dict[str, Any] | None]) -> Job:
    """Run `work` as the body of job `job_id`: marks it running, then succeeded, failed or
    cancelled. Errors end the job with a message; they never leave it running."""
    job = Job.objects.get(pk=job_id)

    def start() -> bool:
        started = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING, started_at=timezone.now()
        )
        job.refresh_from_db()
        if started:
            job_notify(job)
        return bool(started)

    def body() -> None:
        result = work(job, JobReporter(job))
        job.status = Job.Status.SUCCEEDED
        job.result = result or {}

    def fail(exc: Exception) -> None:
        if isinstance(exc, JobCancelled):
            job.status, job.message = Job.Status.CANCELLED, "Cancelled."
            return
        log.exception("job %s failed", job_id, exc_info=exc)
        job.status = Job.Status.FAILED
        job.error = str(exc) or exc.__class__.__name__

    def end() -> None:
        job.finished_at = timezone.now()
        job.save()

    def beat() -> object:
        # Keeps updated_at fresh while the work runs, so jobs_fail_stale spots a dead worker.
        return Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
            updated_at=timezone.now()
        )

    if work_run(start=start, beat=beat, body=body, fail=fail, end=end):
        job_notify(job)
    return job

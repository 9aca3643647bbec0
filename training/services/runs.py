"""Start, retry, cancel and fairly dispatch runs; fail the ones that can never finish."""

from __future__ import annotations

import logging
from typing import Any

import django_rq
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from datasets.models import Image
from projects.models import Project
from projects.work import (
    LOST_AFTER,
    rq_job_lost,
    stale_cutoff,
    work_dequeue,
    work_enqueue,
)
from training.models import TrainingRun
from training.services.params import (
    training_code_version,
    training_label_counts,
    training_params_build,
    training_problems,
)
from training.services.state import (
    QUEUE,
    WAITING,
    training_run_notify,
    training_run_rq_job_id,
)

log = logging.getLogger(__name__)

STALE_MESSAGE = (
    "The training worker stopped (killed or out of memory) and sent no heartbeat for {seconds} s. "
    "Retry the run; with a large dataset try a smaller batch size."
)


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
    job_id = training_run_rq_job_id(run=run)
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
    labels = [label for label, _ in training_label_counts(project=project)]
    index = {label.pk: i for i, label in enumerate(labels)}
    rows = Image.objects.filter(project=project, quarantined=False).order_by("pk")
    rows = [r for r in rows.values_list("pk", "label_id", "source") if r[1] in index]
    snapshot = [[image_id, index[label_id]] for image_id, label_id, _ in rows]
    corrections = sum(source == Image.Source.CORRECTION for _, _, source in rows)
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
            from_corrections=corrections,
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
            from_corrections=run.from_corrections,
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


def training_run_cancel(*, run: TrainingRun, by: User | None = None) -> TrainingRun:
    """A queued run is cancelled at once (and leaves the queue); a running one stops at its
    next batch. `by` (the owner, or staff) is recorded."""
    now = timezone.now()
    by_id = by.pk if by is not None else None
    if run.status == TrainingRun.Status.QUEUED:
        updated = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.CANCELLED,
            cancel_requested=True,
            cancelled_by_id=by_id,
            finished_at=now,
        )
        if updated:
            work_dequeue(queue=QUEUE, rq_job_id=training_run_rq_job_id(run=run))
            run.refresh_from_db()
            training_run_notify(run)
            training_runs_dispatch()
            return run
    if run.status == TrainingRun.Status.RUNNING:
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True, cancelled_by_id=by_id)
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
        if rq_job_lost(training_run_rq_job_id(run=run), queue=QUEUE):
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

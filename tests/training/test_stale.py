"""Dead workers: a running run whose heartbeat stopped is failed, and the page is told."""

from datetime import timedelta

import pytest
from django.utils import timezone

from projects.snapshot import project_snapshot
from projects.work import monitor_once
from tests.training.conftest import make_run
from training.models import EpochMetric
from training.services import training_runs_fail_stale

pytestmark = pytest.mark.django_db


def test_it_fails_runs_whose_heartbeat_is_stale(project, settings):
    now = timezone.now()
    stale = make_run(project, status="running", heartbeat_at=now - timedelta(seconds=31))
    alive = make_run(project, status="running", heartbeat_at=now - timedelta(seconds=5))
    done = make_run(project, status="succeeded", heartbeat_at=now - timedelta(hours=1))
    assert training_runs_fail_stale() == 1
    for run in (stale, alive, done):
        run.refresh_from_db()
    assert stale.status == "failed" and "training worker stopped" in stale.error
    assert stale.finished_at is not None
    assert alive.status == "running" and done.status == "succeeded"
    assert training_runs_fail_stale() == 0


def test_the_snapshot_only_reads_and_the_monitor_fails_dead_runs(project):
    old = timezone.now() - timedelta(minutes=5)
    run = make_run(project, status="running", heartbeat_at=old)
    before = project_snapshot(project)
    run.refresh_from_db()
    assert run.status == "running"  # a page read never writes
    assert {r["id"]: r["status"] for r in before["training"]["runs"]} == {run.pk: "running"}
    assert monitor_once() == 1
    after = project_snapshot(project)
    assert {r["id"]: r["status"] for r in after["training"]["runs"]} == {run.pk: "failed"}


def test_the_monitor_also_fails_background_jobs_whose_worker_died(project):
    from projects.models import Job

    job = Job.objects.create(project=project, kind="collect", title="Collect", status="running")
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert monitor_once() == 1
    job.refresh_from_db()
    assert job.status == "failed" and "stopped responding" in job.error


def test_the_snapshot_carries_runs_and_their_epochs(project):
    progress = {"epoch": 2, "epochs": 4, "batch": 3, "batches": 6, "loss": 0.5}
    run = make_run(
        project, status="running", heartbeat_at=timezone.now(), phase="training", progress=progress
    )
    EpochMetric.objects.create(run=run, stage="finetune", epoch=1, loss=0.3)
    EpochMetric.objects.create(run=run, stage="head", epoch=1, loss=0.9, val_accuracy=0.5)
    training = project_snapshot(project)["training"]
    state = training["runs"][0]
    assert state["id"] == run.pk and state["status"] == "running" and state["epoch"] == 2
    assert state["batch"] == 3 and state["loss"] == 0.5 and 0 < state["percent"] < 100
    assert [(e["stage"], e["epoch"]) for e in training["epochs"][str(run.pk)]] == [
        ("head", 1), ("finetune", 1),
    ]  # fmt: skip


def test_the_monitor_loop_checks_until_stopped(project):
    import threading

    from projects.work import monitor_loop

    run = make_run(project, status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    stop = threading.Event()
    stop.set()  # one check, then return
    monitor_loop(stop, 0)
    run.refresh_from_db()
    assert run.status == "failed"


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_run_with_a_message_when_the_worker_cannot_make_its_work_dir(
    project, monkeypatch
):
    from training.services import training_run_execute

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    run = make_run(project, status="queued")
    monkeypatch.setattr("training.services.runner.tempfile.mkdtemp", full)
    run = training_run_execute(run_id=run.pk)
    assert run.status == "failed" and "No space left" in run.error  # not "running" until stale


def test_it_fails_a_queued_run_the_queue_lost(project):
    from training.models import TrainingRun

    lost = make_run(project, status="queued", rq_job_id="gone-run")
    fresh = make_run(project, status="queued", rq_job_id="also-gone")
    TrainingRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert training_runs_fail_stale() == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == "failed" and "lost from the training queue" in lost.error
    assert fresh.status == "queued"  # just queued: give the queue time before judging it

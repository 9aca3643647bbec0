"""The one job runtime (projects/work.py): heartbeat, runner, throttle, sweepers."""

import threading

import pytest

from projects import work
from projects.models import Job

pytestmark = pytest.mark.django_db


def test_it_keeps_beating_after_a_failed_beat(settings):
    settings.AIMAKER_JOB_HEARTBEAT_SECONDS = 0.02
    beats = []

    def beat():
        beats.append(1)
        if len(beats) == 1:
            raise RuntimeError("database hiccup")

    done = threading.Event()
    with work.work_heartbeat(beat):
        done.wait(0.3)
    count = len(beats)
    assert count >= 3  # the first failed, the next ones still came
    done.wait(0.1)
    assert len(beats) == count  # and it stopped with the block


def test_it_ends_a_failing_job_failed_with_its_message(project, owner):
    job = Job.objects.create(project=project, created_by=owner, kind="demo", title="Demo")
    from projects.services import job_run

    def broken(job, reporter):
        raise ValueError("the archive is not a ZIP file")

    job = job_run(job_id=job.pk, work=broken)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert job.error == "the archive is not a ZIP file"


def test_it_does_not_run_a_job_cancelled_while_queued(project, owner):
    ran = []
    assert not work.work_run(
        start=lambda: False, beat=lambda: None, body=lambda: ran.append(1),
        fail=lambda exc: ran.append(exc), end=lambda: ran.append("end"),
    )  # fmt: skip
    assert ran == []


def test_it_throttles_but_never_drops_a_forced_write():
    throttle = work.Throttle(60)
    assert throttle.due()
    assert not throttle.due()
    assert throttle.due(force=True)


def test_the_monitor_runs_every_registered_sweeper_even_after_one_fails(monkeypatch):
    calls = []

    def broken() -> int:
        raise RuntimeError("boom")

    def cleaner() -> int:
        calls.append(1)
        return 2

    monkeypatch.setattr(work, "_sweepers", [broken, cleaner])
    assert work.monitor_once() == 2 and calls == [1]

"""`manage.py runall`: a worker host runs only its part; in burst mode it exits by itself once
its queue is empty (an on-demand GPU host stops when training is done)."""

import subprocess
import sys

import django_rq
import pytest
from django.conf import settings

from projects.models import Job
from projects.services import job_create
from tests.conftest import subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


def runall(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "runall", *args],
        env=subprocess_env(), cwd=settings.BASE_DIR, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_a_burst_training_host_works_off_its_queue_then_exits(project, owner):
    job = job_create(
        project=project, user=owner, kind="demo", title="Demo", queue="training",
        func="projects.jobs.demo_progress", params={"steps": 2, "delay": 0.05}, total=2,
    )  # fmt: skip
    assert django_rq.get_queue("training").count == 1
    done = runall("--only", "training", "--burst", "--training-workers", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "every worker finished" in done.stdout
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert django_rq.get_queue("training").count == 0


def test_it_refuses_burst_mode_for_the_web_server():
    refused = runall("--burst", timeout=60)
    assert refused.returncode != 0 and "--burst is for worker hosts" in refused.stderr

"""LOG_FORMAT=json: a real worker writes one JSON object per line, and the lines a job writes
carry its id."""

import json
import time

import pytest

from projects.models import Job
from projects.services import job_create
from tests.conftest import WorkerProcess

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_logs_json_lines_with_the_job_id(project, owner, tmp_path):
    worker = WorkerProcess(("default",), tmp_path / "worker.log", env={"LOG_FORMAT": "json"})
    worker.start()
    try:
        job = job_create(
            project=project, user=owner, kind="demo", title="Demo",
            func="projects.jobs.demo_progress", params={"steps": "not a number"},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == Job.Status.FAILED:
                break
            time.sleep(0.2)
        assert job.status == Job.Status.FAILED
        time.sleep(1)
    finally:
        worker.stop()
    lines = [line for line in worker.output().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    ours = [r for r in records if r.get("message") == f"job {job.pk} failed"]
    assert ours and ours[0]["job_id"] == job.pk and ours[0]["level"] == "ERROR"
    assert "exc_info" in ours[0]  # the traceback travels inside the JSON object
    not_json = [line for line in lines if not line.startswith("{")]
    assert not not_json, not_json[:5]

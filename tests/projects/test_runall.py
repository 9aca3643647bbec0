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


def test_it_serves_from_several_web_processes_on_one_port(tmp_path):
    import os
    import signal
    import time

    import requests

    from bench.common import free_port

    port = free_port()
    log = open(tmp_path / "runall.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "runall", "--only", "web",
         "--web-processes", "2", "--port", str(port)],
        env=subprocess_env(), cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            try:  # new connections each time: the kernel hands them to either daphne
                r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                assert r.status_code == 200, r.text
            except requests.ConnectionError:
                pass
            children = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            pids = {int(p) for p in children}
            time.sleep(0.2)
        assert len(pids) == 2, log.read()
        answered = [requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5) for _ in range(20)]
        assert {r.status_code for r in answered} == {200}
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    assert output.count("Listening on TCP address") == 2, output[-3000:]
    assert "web-1" in output and "web-2" in output
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)

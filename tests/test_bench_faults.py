"""A small bench.faults in CI: the whole stack (Redis, daphne, workers, monitor) survives a
killed training worker, a Redis restart and a daphne restart during a run and a ZIP import:
everything ends in a terminal state within a minute, nothing half-written is left."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from bench.faults import DATASET


@pytest.mark.skipif(not DATASET.is_dir(), reason="needs ../shared/datasets/clothing-small")
def test_it_ends_every_run_and_job_and_loses_nothing():
    params = '{"mode": "quick", "epochs": 40, "batch_size": 4}'
    out = subprocess.run(
        [sys.executable, "-m", "bench.faults", "--faults",
         "kill_training_worker,restart_redis,restart_daphne", "--train-per-label", "10",
         "--import-per-label", "20", "--weights", "random:test-only", "--fault-after", "0",
         "--params", params],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=420,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    phases = {p["fault"]: p for p in figures["phases"]}
    assert all(p["ok"] for p in phases.values()), phases
    killed = phases["kill_training_worker"]
    if killed["run_at_fault"] == "running":  # its worker died under it: said so, not stuck
        assert killed["run"] == "failed" and "worker stopped" in killed["run_error"], killed
    assert killed["job"] == "succeeded", killed  # the import's worker was not touched
    assert phases["restart_daphne"]["reconnect_s"] < 10, phases
    assert figures["images_broken"] == 0 and figures["images_checked"] > 0, figures
    assert figures["versions_broken"] == 0, figures
    assert figures["server_tracebacks"]["web"] == 0, figures

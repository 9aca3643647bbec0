"""The learning core is Keras-backend-agnostic: a training worker on the PyTorch backend (as on
a GPU host without TensorFlow) trains a run end to end, and the run says what it trained on."""

import importlib.util
import time

import pytest
from django.urls import reverse

from tests.conftest import WorkerProcess
from tests.training.conftest import TINY_PARAMS
from training.ml.device import device_info, device_text
from training.models import TrainingRun
from training.services import training_run_start

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_names_the_device_and_backend():
    import keras

    info = device_info()
    assert info["backend"] == keras.backend.backend() and info["device"]
    assert device_text({"backend": "jax", "device": "NVIDIA H200", "memory_gb": 143.8}) == (
        "NVIDIA H200 (143.8 GB) with jax"
    )
    assert device_text({"backend": "torch", "device": "CPU", "memory_gb": None}) == "CPU with torch"


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch is not installed (make test-backends installs torch==2.13.0)",
)
def test_a_torch_backend_worker_trains_a_run(owner, owner_client, ready_project, tmp_path):
    worker = WorkerProcess(
        ("training",), tmp_path / "worker.log", env={"AIMAKER_KERAS_BACKEND": "torch"}
    ).start()
    try:
        run = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.5)
    finally:
        worker.stop()
    assert run.status == TrainingRun.Status.SUCCEEDED, (run.error, worker.output()[-3000:])
    assert run.metrics["device"] == {"backend": "torch", "device": "CPU", "memory_gb": None}
    page = owner_client.get(reverse("training:run", args=[ready_project.pk, run.number]))
    assert "CPU with torch" in page.content.decode()

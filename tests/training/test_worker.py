"""Training end to end with a real RQ worker (tiny test backbone): live events over the
websocket, artifacts in storage, cancellation, and a worker killed mid-run."""

import json
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.urls import reverse

from tests.projects.wsutil import communicator, receive_until, session_cookie
from training.models import EpochMetric, TrainingRun

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

FORM = {"mode": "quick", "epochs": 4, "batch_size": 4, "learning_rate": 0.05,
        "validation_split": 25, "finetune_layers": 2, "finetune_epochs": 1, "seed": 1}  # fmt: skip
# Many tiny batches: slow enough to act on the run while it trains.
SLOW = {**FORM, "epochs": 500, "batch_size": 1}


async def safe_disconnect(comm) -> None:
    try:
        await comm.disconnect()
    except Exception:  # noqa: BLE001 - the test's own failure is the interesting one
        pass


def is_run(status):
    return lambda e: e.get("type") == "training" and e["run"]["status"] == status


async def start(client, project, form):
    response = await sync_to_async(client.post)(
        reverse("training:start", kwargs={"pk": project.pk}), form
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return await sync_to_async(TrainingRun.objects.get)(project=project)


async def test_it_trains_a_quick_run_with_live_events_and_saves_artifacts(
    owner_client, ready_project, rq_worker
):
    comm = communicator(ready_project.pk, session=session_cookie(owner_client))
    assert (await comm.connect())[0]
    try:
        assert (await comm.receive_json_from(timeout=5))["type"] == "snapshot"
        run = await start(owner_client, ready_project, FORM)
        events = await receive_until(comm, is_run("succeeded"), timeout=120)
    finally:
        await safe_disconnect(comm)
    states = [e["run"] for e in events if e["type"] == "training"]
    phases = [s["phase"] for s in states]
    assert {"extracting", "training", "evaluating", "saving"} <= set(phases), phases
    assert phases.index("extracting") < phases.index("training") < phases.index("saving")
    assert any(s["status"] == "queued" for s in states)
    epoch_events = [e for e in events if e["type"] == "training.epoch"]
    assert epoch_events and all(e["run_id"] == run.pk for e in epoch_events)
    seen = [row["epoch"] for e in epoch_events for row in e["epochs"]]
    assert seen == sorted(seen) and seen[0] == 1

    run = await sync_to_async(TrainingRun.objects.get)(pk=run.pk)
    assert run.status == "succeeded" and run.error == "" and run.finished_at
    assert run.best_val_accuracy is not None and run.metrics["val_count"] == 2
    assert run.timings["total"] > 0 and "fetching" in run.timings
    epochs = await sync_to_async(EpochMetric.objects.filter(run=run).count)()
    assert epochs == len(run.metrics["history"]) == max(seen)
    assert sorted(run.metrics["image_ids"]) == sorted(i for i, _ in run.snapshot)

    prefix = f"projects/{ready_project.pk}/runs/1/"
    assert run.artifact_prefix == prefix
    names = ("model.keras", "unknown.npz", "labels.json", "preprocessing.json", "metrics.json",
             "run.json")  # fmt: skip
    for name in names:
        assert default_storage.exists(prefix + name), name
    assert run.metrics["unknown"]["images"] == 8 and run.metrics["unknown"]["threshold"] >= 0
    assert json.loads(default_storage.open(prefix + "labels.json").read()) == ["cat", "dog"]
    pre = json.loads(default_storage.open(prefix + "preprocessing.json").read())
    assert pre["input_size"] == 32 and pre["resize"]
    meta = json.loads(default_storage.open(prefix + "run.json").read())
    assert meta["params"]["epochs"] == 4 and meta["code_version"] and meta["image_count"] == 8
    assert meta["backbone"]["name"] == "tiny_test" and meta["timings"]["total"] > 0

    # The model takes raw RGB 0..255 images and gives probabilities in label order.
    def predict():
        from PIL import Image

        from training.ml import load_predictor

        predictor = load_predictor(default_storage.path(prefix + "model.keras"))
        return predictor.predict([Image.new("RGB", (40, 30), (220, 30, 30))])

    probs = await sync_to_async(predict)()
    assert probs.shape == (1, 2) and abs(float(probs.sum()) - 1) < 1e-4

    # Features came from ONNX Runtime, and the same backbone file plus the head make the
    # version's ONNX form, stored with the run: serving never converts on a request.
    assert run.metrics["extract_runtime"] == "onnx"
    assert default_storage.exists(prefix + "model.onnx"), rq_worker.output()[-3000:]


async def test_it_cancels_a_running_run_at_the_next_batch(owner_client, ready_project, rq_worker):
    comm = communicator(ready_project.pk, session=session_cookie(owner_client))
    assert (await comm.connect())[0]
    try:
        await comm.receive_json_from(timeout=5)
        run = await start(owner_client, ready_project, SLOW)
        await receive_until(comm, lambda e: e.get("type") == "training.epoch", timeout=120)
        cancel = reverse("training:cancel", kwargs={"pk": ready_project.pk, "number": 1})
        await sync_to_async(owner_client.post)(cancel)
        await receive_until(comm, is_run("cancelled"), timeout=30)
    finally:
        await safe_disconnect(comm)
    run = await sync_to_async(TrainingRun.objects.get)(pk=run.pk)
    assert run.status == "cancelled" and run.finished_at and not run.artifact_prefix
    assert await sync_to_async(EpochMetric.objects.filter(run=run).count)() < 1000


async def test_it_fails_the_run_of_a_killed_worker(
    owner_client, ready_project, rq_worker, settings
):
    from training.services import training_runs_fail_stale

    comm = communicator(ready_project.pk, session=session_cookie(owner_client))
    assert (await comm.connect())[0]
    try:
        await comm.receive_json_from(timeout=5)
        run = await start(owner_client, ready_project, SLOW)
        await receive_until(comm, lambda e: e.get("type") == "training.epoch", timeout=120)
        rq_worker.kill()  # SIGKILL: no cleanup code runs, like the OOM killer
        killed_at = time.monotonic()
        # Within the stale window the run still looks alive...
        assert await sync_to_async(training_runs_fail_stale)() == 0
        settings.AIMAKER_JOB_STALE_SECONDS = 1  # ...then its heartbeat is stale.
        await sync_to_async(time.sleep)(1.5)
        assert await sync_to_async(training_runs_fail_stale)() == 1
        events = await receive_until(comm, is_run("failed"), timeout=10)
    finally:
        await safe_disconnect(comm)
    assert time.monotonic() - killed_at < 60
    assert "training worker stopped" in events[-1]["run"]["error"]
    run = await sync_to_async(TrainingRun.objects.get)(pk=run.pk)
    assert run.status == "failed" and run.finished_at

"""Three "hosts" that share only PostgreSQL/SQLite, Redis and an S3 endpoint (moto's server,
a real S3 HTTP API on 127.0.0.1), each with its own empty data dir: A serves the pages and takes
the upload, B is a training worker, C answers predictions and builds an export. Progress from B
reaches a websocket on A. Nothing goes through a shared disk."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from bench.common import free_port, wait_for_port
from tests.conftest import WorkerProcess, _stop, daphne_server
from tests.training.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)
BUCKET = "aimaker-media"


@pytest.fixture
def s3_endpoint(tmp_path):
    pytest.importorskip("moto", reason="moto[server] is a test dependency (requirements-dev)")
    import boto3

    port = free_port()
    log = open(tmp_path / "moto.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, proc, timeout=30)
        url = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        yield url, s3
    finally:
        _stop(proc)
        log.close()


def host_env(tmp_path: Path, name: str, endpoint: str) -> dict[str, str]:
    data = tmp_path / f"host-{name}"
    data.mkdir()
    from django.conf import settings

    return {
        "SECRET_KEY": settings.SECRET_KEY,  # hosts of one deployment share it (sessions)
        "AIMAKER_DATA_DIR": str(data),
        "AIMAKER_MEDIA_ROOT": "",  # no local media: everything goes to the bucket
        "AIMAKER_FEATURE_CACHE_DIR": str(data / "feature-cache"),
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


async def watch_until_succeeded(base: str, cookie: str, project_id: int) -> list[dict]:
    import websockets

    url = base.replace("http://", "ws://") + f"/ws/projects/{project_id}/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": base}
    events: list[dict] = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=180))
            events.append(event)
            if event.get("type") == "training" and event["run"]["status"] in (
                "succeeded", "failed",
            ):  # fmt: skip
                return events


@pytest.mark.timeout(420)
def test_three_hosts_share_only_the_database_redis_and_s3(
    tmp_path, s3_endpoint, owner, owner_client, project, settings
):
    from inference.models import ModelVersion
    from inference.services import model_version_set_default, token_create
    from tests.projects.wsutil import session_cookie

    settings.AIMAKER_SERVING_WARM_ON_DEFAULT = False  # this process has no access to the bucket
    endpoint, s3 = s3_endpoint
    env_a, env_b, env_c = (host_env(tmp_path, n, endpoint) for n in "abc")
    _token, secret = token_create(user=owner, name="hosts")
    api = {"Authorization": f"Bearer {secret}"}
    cookie = session_cookie(owner_client)
    trainer = WorkerProcess(("training",), tmp_path / "worker-b.log", env=env_b).start()
    exporter = WorkerProcess(("default",), tmp_path / "worker-c.log", env=env_c).start()
    try:
        with (
            daphne_server(tmp_path / "daphne-a.log", **env_a) as host_a,
            daphne_server(tmp_path / "daphne-c.log", **env_c) as host_c,
        ):
            # Host A: the owner uploads images for both labels through the page's endpoint.
            web = requests.Session()
            web.cookies.set("sessionid", cookie)
            upload_page = f"{host_a}/projects/{project.pk}/data/upload/"
            assert web.get(upload_page, timeout=30).status_code == 200
            csrf = {"X-CSRFToken": web.cookies["csrftoken"]}
            colours = {"cat": (220, 30, 30), "dog": (30, 50, 220)}
            for label in project.labels.all():
                files = [
                    (
                        "files",
                        (f"{label.name}-{i}.jpg", jpeg_bytes(colours[label.name], i), "image/jpeg"),
                    )
                    for i in range(4)
                ]
                answer = web.post(
                    upload_page + "files/", data={"label": label.pk}, files=files,
                    headers=csrf, timeout=60,
                )  # fmt: skip
                assert answer.status_code == 200, answer.text[:500]
            keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
            assert sum(1 for k in keys if k.endswith("/thumbnail.jpg") or "thumb" in k) >= 8

            # Host B trains the run host A starts; the progress reaches A's websocket.
            async def start_and_watch():
                watcher = asyncio.create_task(watch_until_succeeded(host_a, cookie, project.pk))
                await asyncio.sleep(1)  # connected and subscribed first
                started = await asyncio.to_thread(
                    requests.post, f"{host_a}/api/v1/projects/{project.pk}/runs/",
                    json={"params": {"epochs": 3, "batch_size": 4, "learning_rate": 0.05,
                                     "validation_split": 0.25, "augmentation": False}},
                    headers=api, timeout=30,
                )  # fmt: skip
                assert started.status_code == 201, started.text[:500]
                return await watcher

            events = asyncio.run(start_and_watch())
            final = events[-1]["run"]
            assert final["status"] == "succeeded", (final, trainer.output()[-3000:])
            phases = {e["run"]["phase"] for e in events if e.get("type") == "training"}
            assert {"extracting", "training"} <= phases

            # Host C: predictions with the published version, then an export built by its worker.
            version = ModelVersion.objects.get(project=project)
            model_version_set_default(version=version, user=owner, note="ship it")
            photo = jpeg_bytes(colours["cat"], 99)
            predicted = requests.post(
                f"{host_c}/api/v1/projects/{project.pk}/predict/",
                files={"image": ("p.jpg", photo, "image/jpeg")}, headers=api, timeout=120,
            )  # fmt: skip
            assert predicted.status_code == 200, predicted.text[:500]
            assert predicted.json()["label"] == "cat"
            viewer = requests.Session()
            viewer.cookies.set("sessionid", cookie)
            export = f"{host_c}/projects/{project.pk}/models/v{version.number}/export/keras/"
            deadline, state = time.monotonic() + 180, None
            while time.monotonic() < deadline:
                state = viewer.get(export + "?state=1", timeout=30).json()["state"]
                if state != "building":
                    break
                time.sleep(1)
            assert state == "ready", (state, exporter.output()[-3000:])
            download = viewer.get(export, timeout=60)
            assert download.status_code == 200
            assert "model.keras" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    finally:
        trainer.stop()
        exporter.stop()

    # Everything the hosts made lies in the bucket; no host kept media of its own.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1000).get("Contents", [])}
    run_prefix = f"projects/{project.pk}/runs/1/"
    assert {run_prefix + "model.keras", run_prefix + "model.onnx"} <= keys
    assert any(k.endswith("keras.zip") for k in keys), sorted(keys)[-10:]
    for name in "abc":
        local = [
            p for p in (tmp_path / f"host-{name}").rglob("*") if p.suffix in (".jpg", ".keras")
        ]
        assert not local, local[:5]

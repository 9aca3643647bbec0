"""Serving benchmark: the real server (daphne) answering POST /api/v1/projects/<id>/predict/.

    python -m bench.serve                 # trains a small model in a throw-away data dir
    python -m bench.serve --project 3     # uses project 3 (its default version) of your data dir
    python -m bench.serve --runtime keras  # serve with Keras instead of ONNX Runtime

Measures one client (latency p50/p95) and 4 concurrent clients (predictions per second) with
an ordinary photo, then explained predictions (?explain=true: the occlusion heat map) beside
the bare ONNX Runtime time of the same forward passes. The last line printed is one JSON
object: p50_ms, p95_ms, rps_4_clients, errors, explain_p50_ms, ...
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aimaker.webserver import daphne_commands
from bench.common import free_port, machine, percentile, use_throwaway_data_dir

BASE_DIR = Path(__file__).resolve().parent.parent
DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small"


def _train_project(labels: list[str], per_label: int) -> int:
    """A project with one published version trained on a few clothing photos (real backbone)."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.files import File
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from inference import services
    from projects.models import Label, Project
    from training.ml import Sample, TrainParams, train
    from training.models import TrainingRun

    user, _ = User.objects.get_or_create(username="bench")
    project = Project.objects.create(owner=user, name="Serving bench")
    samples = []
    for y, name in enumerate(labels):
        Label.objects.create(project=project, name=name)
        files = sorted((DATASET / "train" / name).glob("*.jpg"))[:per_label]
        samples += [Sample(path=str(p), label=y, key=p.stem) for p in files]
    workdir = Path(tempfile.mkdtemp(prefix="aimaker-bench-serve-"))
    params = TrainParams(epochs=10, augmentation=False)
    result = train(
        samples=samples,
        labels=labels,
        params=params,
        backbone_weights=settings.AIMAKER_BACKBONE_WEIGHTS or None,
        cache_dir=str(workdir / "cache"),
        out_dir=str(workdir / "out"),
    )
    prefix = f"projects/{project.pk}/runs/1/"
    with open(result.model_path, "rb") as f:
        default_storage.save(prefix + "model.keras", File(f, name="model.keras"))
    if result.onnx_path:  # as a training worker stores it: serving never converts
        with open(result.onnx_path, "rb") as f:
            default_storage.save(prefix + "model.onnx", File(f, name="model.onnx"))
    for name, data in (("labels.json", labels), ("preprocessing.json", result.preprocessing)):
        default_storage.save(prefix + name, ContentFile(json.dumps(data).encode()))
    run = TrainingRun.objects.create(
        project=project, number=1, status=TrainingRun.Status.SUCCEEDED, labels=labels,
        params=params.to_dict(), metrics={k: v for k, v in result.metrics.items()
                                          if k not in ("doubts", "misclassified", "history")},
        best_val_accuracy=result.metrics.get("val_accuracy"), artifact_prefix=prefix,
        image_count=len(samples), finished_at=timezone.now(),
    )  # fmt: skip
    version = services.model_version_create_for_run(run=run)
    services.model_version_set_default(version=version, user=user, note="benchmark")
    shutil.rmtree(workdir, ignore_errors=True)
    return project.pk


def _wait_listening(log_path: Path, procs: list[subprocess.Popen], timeout: float = 90) -> None:
    """Until every daphne says it listens: each has imported the app and warmed its models
    by then (a shared socket accepts connections before that, so probing the port is not
    enough)."""
    start = log_path.read_text(errors="replace").count("Listening on")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            raise RuntimeError(f"a server process exited early; see {log_path}")
        if log_path.read_text(errors="replace").count("Listening on") - start >= len(procs):
            return
        time.sleep(0.1)
    raise RuntimeError("the server did not start in time")


def _measure(
    url: str, token: str, photo: bytes, n_single: int, n_concurrent: int, n_explain: int
) -> dict:
    import requests

    headers = {"Authorization": f"Bearer {token}"}
    session_local: dict[int, requests.Session] = {}

    def one(i: int, explain: bool = False) -> tuple[float, float | None, int]:
        import threading

        s = session_local.setdefault(threading.get_ident(), requests.Session())
        t0 = time.perf_counter()
        r = s.post(
            url + ("?explain=true" if explain else ""),
            headers=headers,
            files={"image": ("photo.jpg", photo, "image/jpeg")},
        )
        ms = (time.perf_counter() - t0) * 1000
        if not r.ok:
            return ms, None, r.status_code
        body = r.json()
        server = body["explanation"]["duration_ms"] if explain else body.get("duration_ms")
        return ms, server, r.status_code

    first_ms, _, first_code = one(0)  # right after the server started: nothing loaded yet
    for i in range(5):  # warm: model loaded, code paths compiled
        one(i)
    single = [one(i) for i in range(n_single)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(one, range(n_concurrent)))
    wall = time.perf_counter() - t0
    explained = [one(i, explain=True) for i in range(n_explain)]
    explain_lat = [ms for ms, _, code in explained if code == 200]
    explain_server = [s for _, s, code in explained if code == 200 and s is not None]
    lat = [ms for ms, _, code in single if code == 200]
    server = [s for _, s, code in single if code == 200 and s is not None]
    lat4 = [ms for ms, _, code in concurrent if code == 200]
    errors = sum(code != 200 for _, _, code in single + concurrent)
    return {
        "first_ms": round(first_ms, 1) if first_code == 200 else None,
        "p50_ms": round(percentile(lat, 0.5), 1) if lat else None,
        "p95_ms": round(percentile(lat, 0.95), 1) if lat else None,
        "mean_ms": round(statistics.mean(lat), 1) if lat else None,
        "server_p50_ms": round(percentile(server, 0.5), 1) if server else None,
        "rps_4_clients": round(len(lat4) / wall, 1),
        "p50_ms_4_clients": round(percentile(lat4, 0.5), 1) if lat4 else None,
        "p95_ms_4_clients": round(percentile(lat4, 0.95), 1) if lat4 else None,
        "explain_p50_ms": round(percentile(explain_lat, 0.5), 1) if explain_lat else None,
        "explain_max_ms": round(max(explain_lat), 1) if explain_lat else None,
        "explain_server_p50_ms": round(percentile(explain_server, 0.5), 1)
        if explain_server
        else None,
        "requests": len(single) + len(concurrent) + len(explained),
        "errors": errors + (first_code != 200) + sum(code != 200 for _, _, code in explained),
    }


def _explain_limit(version) -> float:
    """The floor of an explanation: its 65 forward passes (1 + 8x8 occlusions, batches of
    32) straight through ONNX Runtime on this machine, in ms (median of 5)."""
    import numpy as np
    import onnxruntime as ort
    from django.core.files.storage import default_storage

    from inference.serving import onnx_artifact_path

    with default_storage.open(onnx_artifact_path(version.model_path), "rb") as f:
        session = ort.InferenceSession(f.read(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).uniform(0, 255, (65, 224, 224, 3)).astype(np.float32)
    times = []
    for _ in range(6):
        t0 = time.perf_counter()
        for batch in (x[:1], x[1:33], x[33:]):
            session.run(None, {name: batch})
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times[1:]), 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=int, help="use this project of your data dir")
    parser.add_argument("--runtime", choices=["keras", "onnx"], default="onnx")
    parser.add_argument("--requests", type=int, default=100, help="single-client requests")
    parser.add_argument("--concurrent-requests", type=int, default=200)
    parser.add_argument("--explain-requests", type=int, default=20)
    parser.add_argument("--photo", type=Path, help="default: a clothing-small validation photo")
    parser.add_argument(
        "--processes", type=int, default=None,
        help="daphne processes, as `runall --web-processes` (default: its default)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    tmp = None
    if args.project is None:
        tmp = use_throwaway_data_dir("serve")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aimaker.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from inference import services
    from projects.models import Project

    procs: list[subprocess.Popen] = []
    log = None
    try:
        t_train = 0.0
        if args.project is None:
            call_command("migrate", verbosity=0)
            t0 = time.perf_counter()
            project_id = _train_project(["hat", "shoes", "shorts", "dress"], per_label=15)
            t_train = time.perf_counter() - t0
        else:
            project_id = args.project
        project = Project.objects.get(pk=project_id)
        version = services.model_version_get(project=project, ref=None)
        user = User.objects.get(pk=project.owner_id)
        token, secret = services.token_create(user=user, name="bench.serve")

        photo_path = args.photo or sorted((DATASET / "validation" / "hat").glob("*.jpg"))[0]
        photo = photo_path.read_bytes()
        port = free_port()
        env = dict(os.environ)
        env.update(
            AIMAKER_SERVING_RUNTIME=args.runtime,
            AIMAKER_API_RATE_TOKEN="100000/min",
            REDIS_URL=settings.REDIS_URL,
            AIMAKER_DATA_DIR=str(settings.DATA_DIR),
            DEBUG="0",  # as deployed: no per-query bookkeeping
        )
        log = open(settings.DATA_DIR / "bench-daphne.log", "ab")  # noqa: SIM115
        processes = args.processes or settings.AIMAKER_WEB_PROCESSES
        listening, commands = daphne_commands(host="127.0.0.1", port=port, processes=processes)
        shared = (listening.fileno(),) if listening else ()
        procs = [
            subprocess.Popen(
                cmd, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, pass_fds=shared
            )
            for cmd in commands
        ]
        if listening:
            listening.close()
        _wait_listening(settings.DATA_DIR / "bench-daphne.log", procs)
        url = f"http://127.0.0.1:{port}/api/v1/projects/{project_id}/predict/"
        random.seed(0)
        figures = _measure(
            url, secret, photo, args.requests, args.concurrent_requests, args.explain_requests
        )
        services.token_revoke(token=token)
        # The servers are idle now: the bare runtime's figure gets the machine.
        explain_limit_ms = _explain_limit(version) if args.runtime == "onnx" else None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=20)
        if log:
            log.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "bench": "serve",
        "runtime": args.runtime,
        "processes": processes,
        "version": version.number,
        "labels": len(version.labels),
        "photo": photo_path.name,
        "photo_kb": round(len(photo) / 1024, 1),
        **figures,
        "explain_limit_ms_bare_onnx": explain_limit_ms,
        "train_seconds": round(t_train, 1),
        **machine(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

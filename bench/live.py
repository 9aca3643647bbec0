"""Live-page benchmark: many logged-in viewers of one project's websocket while events arrive at
a training run's rate, through a real daphne and the configured channel layer.

    python -m bench.live --viewers 500                 # the layer from AIMAKER_CHANNEL_LAYER
    python -m bench.live --viewers 500 --layer pubsub  # or name it

Each viewer is its own logged-in session on its own socket. Events go through the product's one
notifier (`notify_project`) at `--rate` per second for `--seconds`, then a final "succeeded"
event. The last line printed is one JSON object: viewers, p50_ms and p95_ms (event created to
received, over every viewer and event), lost_final (viewers that never got the final event),
dropped (sockets the server closed), connect_errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.common import free_port, machine, percentile, use_throwaway_data_dir, wait_for_port

BASE_DIR = Path(__file__).resolve().parent.parent


def _sessions(user, n: int) -> list[str]:
    """n separate logged-in sessions of `user`, as logging in n times would make."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for _ in range(n):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


class Viewer:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.final = False
        self.dropped = False
        self.connect_error = ""
        self.connected = asyncio.Event()
        self.socket = None


async def _view(viewer: Viewer, url: str, origin: str, session: str, gate, done) -> None:
    import websockets

    try:
        async with gate:
            ws = await websockets.connect(
                url, additional_headers={"Cookie": f"sessionid={session}", "Origin": origin},
                open_timeout=60, max_queue=None,
            )  # fmt: skip
            await ws.recv()  # the snapshot: this viewer is in the group now
    except Exception as exc:  # noqa: BLE001 - counted and reported
        viewer.connect_error = f"{exc.__class__.__name__}: {exc}"
        viewer.connected.set()
        return
    viewer.connected.set()
    viewer.socket = ws
    try:
        async for message in ws:  # ends when the socket closes (the bench closes it when done)
            received = time.time()
            event = json.loads(message)
            if "sent_at" in event:
                viewer.latencies.append((received - event["sent_at"]) * 1000)
            if event.get("type") == "training" and event["run"]["status"] == "succeeded":
                viewer.final = True
                break
    except websockets.ConnectionClosed:
        pass
    if not viewer.final and not done.is_set():
        viewer.dropped = True  # closed by the server before the run ended
    await ws.close()


async def _run(args, project_id: int, sessions: list[str], base: str) -> dict:
    from projects.notify import notify_project

    loop = asyncio.get_running_loop()
    url = base.replace("http://", "ws://") + f"/ws/projects/{project_id}/"
    viewers = [Viewer() for _ in sessions]
    gate = asyncio.Semaphore(args.connect_concurrency)
    done = asyncio.Event()
    t0 = time.monotonic()
    tasks = [
        asyncio.create_task(_view(v, url, base, s, gate, done))
        for v, s in zip(viewers, sessions, strict=True)
    ]
    await asyncio.gather(*(v.connected.wait() for v in viewers))
    connect_seconds = time.monotonic() - t0

    def notify(event: dict) -> None:
        notify_project(project_id, {**event, "sent_at": time.time()})

    n_events = int(args.seconds * args.rate)
    for seq in range(n_events):
        await loop.run_in_executor(None, notify, {"type": "training.epoch", "seq": seq})
        await asyncio.sleep(1 / args.rate)
    final = {"type": "training", "run": {"id": 0, "status": "succeeded"}}
    await loop.run_in_executor(None, notify, final)
    deadline = time.monotonic() + args.final_wait
    while time.monotonic() < deadline and not all(v.final or v.connect_error for v in viewers):
        await asyncio.sleep(0.1)
    done.set()
    for viewer in viewers:  # the ones still waiting for a final event that never came
        if viewer.socket is not None and not viewer.final:
            await viewer.socket.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [ms for v in viewers for ms in v.latencies]
    connected = [v for v in viewers if not v.connect_error]
    return {
        "viewers": len(viewers),
        "connected": len(connected),
        "connect_seconds": round(connect_seconds, 2),
        "events": n_events + 1,
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "lost_final": sum(1 for v in connected if not v.final),
        "dropped": sum(1 for v in connected if v.dropped),
        "connect_errors": len(viewers) - len(connected),
        "first_connect_error": next((v.connect_error for v in viewers if v.connect_error), ""),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0, help="of events")
    parser.add_argument("--rate", type=float, default=4.0, help="events per second")
    parser.add_argument("--layer", choices=["core", "pubsub"], default=None)
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--final-wait", type=float, default=15.0, help="seconds")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away data dir")
    parser.add_argument("--profile", metavar="PATH", help="run daphne under cProfile into PATH")
    args = parser.parse_args(argv)

    tmp = use_throwaway_data_dir("live")
    if args.layer:
        os.environ["AIMAKER_CHANNEL_LAYER"] = args.layer
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from projects.models import Project

    proc = None
    try:
        call_command("migrate", verbosity=0)
        user = User.objects.create_user("viewer", password="not-used-7788")
        project = Project.objects.create(owner=user, name="Live bench")
        sessions = _sessions(user, args.viewers)
        port = free_port()
        log_path = settings.DATA_DIR / "bench-daphne.log"
        # --profile: where the server's CPU goes (cProfile, written when daphne stops).
        profile = (
            ["-m", "cProfile", "-o", str(Path(args.profile).resolve())] if args.profile else []
        )
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, *profile, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                 "aimaker.asgi:application"],
                env=dict(os.environ), cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for_port(port, proc)
        server = psutil.Process(proc.pid)
        cpu0, own0 = server.cpu_times(), resource.getrusage(resource.RUSAGE_SELF)
        figures = asyncio.run(_run(args, project.pk, sessions, f"http://127.0.0.1:{port}"))
        cpu1, own1 = server.cpu_times(), resource.getrusage(resource.RUSAGE_SELF)
        # Where the time goes: the server (daphne) and the 500 clients share the two cores.
        figures["server_cpu_s"] = round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 1)
        figures["clients_cpu_s"] = round(
            own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime, 1
        )
        server_log = log_path.read_text(errors="replace")
        figures["server_tracebacks"] = server_log.count("Traceback")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "bench": "live",
        "layer": settings.AIMAKER_CHANNEL_LAYER,
        "redis": "embedded" if settings.REDIS_URL.startswith("unix") else "tcp",
        "rate_per_s": args.rate,
        **figures,
        **machine(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

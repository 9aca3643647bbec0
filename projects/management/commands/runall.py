"""`make run`: the web server (daphne, HTTP + WebSocket) and the RQ workers, in the foreground.

Ctrl-C (or SIGTERM) stops them all together; if one dies, the others are stopped too."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from projects.services import jobs_fail_stale
from training.services import training_runs_fail_stale


class Command(BaseCommand):
    help = "Run daphne and the RQ workers (default, collect, training) until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--training-workers", type=int, default=settings.AIMAKER_TRAINING_WORKERS
        )

    def handle(self, *args, host: str, port: int, training_workers: int, **options) -> None:
        jobs_fail_stale()
        training_runs_fail_stale()
        python = sys.executable
        manage = [python, str(settings.BASE_DIR / "manage.py")]
        # Children inherit REDIS_URL (the embedded server this process started, if any).
        env = os.environ.copy()
        commands: list[tuple[str, list[str], dict[str, str]]] = [
            (
                "web",
                [python, "-m", "daphne", "-b", host, "-p", str(port), "aimaker.asgi:application"],
                env,
            ),
            ("worker-default", [*manage, "rqworker", "default", "collect"], env),
            ("worker-collect", [*manage, "rqworker", "collect", "default"], env),
            ("monitor", [*manage, "monitor"], env),  # fails training runs of dead workers
        ]
        gpus = [g for g in os.environ.get("AIMAKER_TRAINING_GPUS", "").split(",") if g]
        for i in range(training_workers):
            worker_env = dict(env)
            if gpus:  # pin each training worker to one GPU
                worker_env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
            commands.append(
                (f"worker-training-{i + 1}", [*manage, "rqworker", "training"], worker_env)
            )

        procs: list[tuple[str, subprocess.Popen]] = []
        for name, cmd, cmd_env in commands:
            procs.append((name, subprocess.Popen(cmd, env=cmd_env, cwd=settings.BASE_DIR)))
        self.stdout.write(
            self.style.SUCCESS(
                f"AI Maker is running at http://{host}:{port}/ with {len(procs) - 2} workers. "
                "Press Ctrl-C to stop."
            )
        )

        stopping = False

        def stop(signum=None, frame=None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs:
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the rest.")
                    exit_code = proc.returncode or 1
                    stopping = True
                    break
            time.sleep(0.5)

        for _, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)

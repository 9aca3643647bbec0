"""`make run`: the web server (daphne, HTTP + WebSocket) and the RQ workers, in the foreground.

Ctrl-C (or SIGTERM) stops them all together; if one dies, the others are stopped too.
A host can run a part only: `runall --only training --burst` on an on-demand GPU host runs its
training workers until the training queue is empty (or idle for --max-idle-time), then exits."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aimaker.webserver import daphne_commands

PARTS = ("web", "workers", "training", "monitor")


class Command(BaseCommand):
    help = "Run daphne, the RQ workers (default, collect, training) and the monitor until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--training-workers", type=int, default=settings.AIMAKER_TRAINING_WORKERS
        )
        parser.add_argument(
            "--web-processes", type=int, default=settings.AIMAKER_WEB_PROCESSES,
            help="daphne processes sharing the port (default: one per core, at most 4)",
        )  # fmt: skip
        parser.add_argument(
            "--only", action="append", choices=PARTS, default=None,
            help="run only these parts (repeatable); default: all of them",
        )  # fmt: skip
        parser.add_argument(
            "--burst", action="store_true",
            help="workers exit once their queues are empty (with --only workers/training)",
        )  # fmt: skip
        parser.add_argument(
            "--max-idle-time", type=int, default=None,
            help="workers exit after this many seconds without a job",
        )  # fmt: skip

    def handle(
        self, *args, host: str, port: int, training_workers: int, web_processes: int,
        only: list[str] | None, burst: bool, max_idle_time: int | None, **options,
    ) -> None:  # fmt: skip
        parts = set(only or PARTS)
        if burst and parts & {"web", "monitor"}:
            raise CommandError(
                "--burst is for worker hosts: add --only workers or --only training."
            )
        python = sys.executable
        manage = [python, str(settings.BASE_DIR / "manage.py")]
        worker_flags = (["--burst"] if burst else []) + (
            ["--max-idle-time", str(max_idle_time)] if max_idle_time else []
        )
        # Children inherit REDIS_URL (the embedded server this process started, if any).
        env = os.environ.copy()
        commands: list[tuple[str, list[str], dict[str, str]]] = []
        listening = None
        if "web" in parts:
            try:
                listening, daphnes = daphne_commands(host=host, port=port, processes=web_processes)
            except (ValueError, OSError) as exc:
                raise CommandError(f"Cannot serve on {host}:{port}: {exc}") from exc
            for i, daphne in enumerate(daphnes):
                commands.append((f"web-{i + 1}" if len(daphnes) > 1 else "web", daphne, env))
        if "workers" in parts:
            commands += [
                ("worker-default", [*manage, "rqworker", "default", "collect", *worker_flags], env),
                ("worker-collect", [*manage, "rqworker", "collect", "default", *worker_flags], env),
            ]
        if "monitor" in parts:  # fails runs of dead workers, dispatches waiting runs, sweeps
            commands.append(("monitor", [*manage, "monitor"], env))
        gpus = [g for g in os.environ.get("AIMAKER_TRAINING_GPUS", "").split(",") if g]
        for i in range(training_workers if "training" in parts else 0):
            worker_env = dict(env)
            if gpus:  # pin each training worker to one GPU
                worker_env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
            name = f"worker-training-{i + 1}"
            commands.append((name, [*manage, "rqworker", "training", *worker_flags], worker_env))

        shared = (listening.fileno(),) if listening else ()
        procs = [
            (name, subprocess.Popen(cmd, env=cmd_env, cwd=settings.BASE_DIR, pass_fds=shared))
            for name, cmd, cmd_env in commands
        ]
        if listening:
            listening.close()  # the daphnes hold it now
        where = f"at http://{host}:{port}/ " if "web" in parts else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"AI Maker is running {where}({', '.join(n for n, _ in procs)}). "
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
            if burst and all(proc.poll() == 0 for _, proc in procs):
                self.stdout.write("The queues are empty: every worker finished.")
                break
            for name, proc in procs:
                if proc.poll() is not None and not (burst and proc.returncode == 0):
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

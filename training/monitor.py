"""The dead-worker monitor: fails training runs and background jobs that can never finish
(their worker stopped sending heartbeats, or the queue lost them).

`python manage.py monitor` (started by `make run`) calls `monitor_loop`; pages and the
websocket snapshot also check their project's runs, and a starting job checks them all."""

import logging
import threading

from django.db import close_old_connections

from projects.services import jobs_fail_stale
from projects.sweepers import sweep_all
from training.services import training_runs_dispatch, training_runs_fail_stale

log = logging.getLogger(__name__)

CHECK_EVERY = 10.0  # seconds; with a 30 s stale window a dead worker shows within ~40 s


def monitor_once() -> int:
    sweep_all()  # the apps' clean-ups: abandoned uploads, predictions beyond the kept number...
    failed = training_runs_fail_stale() + jobs_fail_stale()
    training_runs_dispatch()  # a waiting run whose turn came while a hook was missed
    return failed


def monitor_loop(stop: threading.Event, every: float = CHECK_EVERY) -> None:
    while True:
        try:
            failed = monitor_once()
            if failed:
                log.warning("monitor: marked %s run(s)/job(s) failed (worker gone)", failed)
        except Exception:  # noqa: BLE001 - keep watching through a database hiccup
            log.exception("monitor: check failed")
        if stop.wait(every):
            return
        close_old_connections()  # a long-lived loop must not keep a broken connection

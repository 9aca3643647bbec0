"""The one background-job runtime every row-backed job uses (jobs, training runs, exports).

The database row is the truth about a job: it is enqueued on commit (or failed with a message
when the queue is unreachable), a heartbeat keeps it fresh while it works, progress writes are
throttled, the runner always ends it in a terminal state, and the monitor (`manage.py monitor`)
runs the sweepers each app registers in AppConfig.ready() to fail what can never finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from aimaker.db import db_heartbeat, db_retry

log = logging.getLogger(__name__)

# Rows are enqueued on commit, milliseconds after they are written: 20 s of grace is ample,
# and a job or run lost with Redis is reported well within a minute (bench.faults).
LOST_AFTER = timedelta(seconds=20)
CHECK_EVERY = 10.0  # monitor ticks; with a 30 s stale window a dead worker shows within ~40 s


# --- Enqueueing ---------------------------------------------------------------------------


def work_enqueue(
    *,
    queue: str,
    func: str,
    args: tuple[Any, ...],
    rq_job_id: str,
    fail: Callable[[Exception], None],
    **options: Any,
) -> bool:
    """Enqueue `func(*args)` as RQ job `rq_job_id`; when the queue is unreachable call
    `fail(exc)`, which must end the row with a message (never leave it queued)."""
    try:
        django_rq.get_queue(queue).enqueue(func, *args, job_id=rq_job_id, **options)
    except Exception as exc:  # noqa: BLE001 - e.g. Redis down
        log.exception("could not enqueue %s", rq_job_id)
        fail(exc)
        return False
    return True


def rq_job_lost(rq_job_id: str, *, queue: str = "default") -> bool:
    """True when the queue no longer knows this job: it can never run (e.g. Redis restarted
    without persistence, or it was never enqueued)."""
    from rq.job import Job as RQJob

    if not rq_job_id:
        return True
    try:
        return not RQJob.exists(rq_job_id, connection=django_rq.get_connection(queue))
    except Exception:  # noqa: BLE001 - Redis down: we cannot tell, so do not fail anything
        return False


def work_dequeue(*, queue: str, rq_job_id: str) -> None:
    """Take a cancelled job out of its queue; the job also checks its row before starting."""
    try:
        django_rq.get_queue(queue).remove(rq_job_id)
    except Exception:  # noqa: BLE001 - Redis down: the row already says cancelled
        log.warning("could not remove %s from the queue", rq_job_id, exc_info=True)


# --- Running ------------------------------------------------------------------------------


def stale_cutoff() -> datetime:
    """Rows whose heartbeat is older than this have lost their worker (killed, out of memory)."""
    return timezone.now() - timedelta(seconds=settings.AIMAKER_JOB_STALE_SECONDS)


@contextmanager
def work_heartbeat(beat: Callable[[], object]) -> Iterator[None]:
    """Call `beat` (a row update) every AIMAKER_JOB_HEARTBEAT_SECONDS in a thread of its own
    while the block runs; the thread survives failed beats and closes its connection."""
    stop = threading.Event()
    thread = threading.Thread(
        target=db_heartbeat,
        args=(beat,),
        kwargs={"every": settings.AIMAKER_JOB_HEARTBEAT_SECONDS, "stop": stop},
        daemon=True,
        name="aimaker-heartbeat",
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def work_run(
    *,
    start: Callable[[], bool],
    beat: Callable[[], object],
    body: Callable[[], None],
    fail: Callable[[Exception], None],
    end: Callable[[], None],
) -> bool:
    """Run one job to a terminal state: `start()` claims the row (False: cancelled while
    queued or already run, nothing happens); `body()` runs with a heartbeat; an exception
    goes to `fail(exc)`, which records it on the instance; `end()` writes the outcome, retried
    across a database restart. Returns whether the job ran."""
    if not start():
        return False
    try:
        with work_heartbeat(beat):
            body()
    except Exception as exc:  # noqa: BLE001 - the row records every failure
        fail(exc)
    db_retry(end)  # reconnects when a long job outlived its connection
    return True


class Throttle:
    """`due()` is true at most once per `every` seconds (or when forced): progress writes and
    websocket events a few times a second, however often a job reports."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._last = 0.0

    def due(self, *, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self._last >= self.every:
            self._last = now
            return True
        return False


# --- The monitor --------------------------------------------------------------------------

_sweepers: list[Callable[[], int]] = []


def sweeper_register(sweeper: Callable[[], int]) -> None:
    """`sweeper()` returns how many things it cleaned; it must be cheap when there is nothing.
    Apps register theirs in AppConfig.ready(), so the monitor imports none of them."""
    if sweeper not in _sweepers:
        _sweepers.append(sweeper)


def sweep_all() -> int:
    cleaned = 0
    for sweeper in list(_sweepers):
        try:
            cleaned += sweeper()
        except Exception:  # noqa: BLE001 - one failing sweeper must not stop the others
            log.exception("sweeper %s failed", getattr(sweeper, "__name__", sweeper))
    return cleaned


def monitor_once() -> int:
    """One pass of every sweeper (stale runs and jobs, abandoned uploads, old predictions...)."""
    return sweep_all()


def monitor_loop(stop: threading.Event, every: float = CHECK_EVERY) -> None:
    while True:
        try:
            cleaned = monitor_once()
            if cleaned:
                log.warning("monitor: cleaned up %s run(s)/job(s)/file(s)", cleaned)
        except Exception:  # noqa: BLE001 - keep watching through a database hiccup
            log.exception("monitor: check failed")
        if stop.wait(every):
            return
        close_old_connections()  # a long-lived loop must not keep a broken connection

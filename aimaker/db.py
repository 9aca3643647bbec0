"""Database writes of long-running workers that outlive a brief database outage (a restart,
a failover): a training run or job should not be lost to two seconds without PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)
T = TypeVar("T")

OUTAGE_SECONDS = 30.0  # how long a worker waits for the database to come back


def db_retry(write: Callable[[], T], *, within: float = OUTAGE_SECONDS) -> T:
    """`write()`, reconnecting and trying again while the database is unreachable, for up to
    `within` seconds; then the error is raised. Inside a transaction nothing is retried (the
    transaction is lost with the connection)."""
    deadline = time.monotonic() + within
    delay = 0.25
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            log.warning("database unreachable (%s); trying again in %.1f s", exc, delay)
            connection.close()  # the next query opens a new connection
            time.sleep(delay)
            delay = min(delay * 2, 4.0)


def db_try(write: Callable[[], T], default: T) -> T:
    """`write()`, or `default` when the database is unreachable right now: for progress and
    heartbeat writes, where a missed one is harmless and the next one comes soon."""
    try:
        return write()
    except (OperationalError, InterfaceError) as exc:
        if connection.in_atomic_block:
            raise
        log.warning("database unreachable (%s); skipped a progress write", exc)
        connection.close()
        return default


def db_heartbeat(beat: Callable[[], object], *, every: float, stop: threading.Event) -> None:
    """Call `beat` (a row update) every `every` seconds until `stop` is set, in a thread of its
    own: a failed beat is logged and the next one comes; the thread's connection is closed."""
    try:
        while not stop.wait(every):
            try:
                db_try(beat, None)
            except Exception:  # noqa: BLE001 - a missed beat is better than a stopped thread
                log.warning("heartbeat failed", exc_info=True)
    finally:
        connection.close()

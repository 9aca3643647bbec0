"""Periodic clean-ups the monitor runs (`manage.py monitor`, started by `make run`). Each app
registers its own in AppConfig.ready(), so the monitor imports none of them."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_sweepers: list[Callable[[], int]] = []


def register(sweeper: Callable[[], int]) -> None:
    """`sweeper()` returns how many things it cleaned; it must be cheap when there is nothing."""
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

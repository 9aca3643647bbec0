"""Logging: which job or run a line belongs to, and one JSON object per line when
LOG_FORMAT=json (python-json-logger). RQ runs each job in its own work-horse process, so a
process-wide binding covers every thread the job starts (heartbeats, decoders, downloads)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

_bound: dict[str, Any] = {}
FIELDS = ("job_id", "run_id", "version_id")


def bind_job(field: str) -> Callable:
    """Decorate an RQ job function whose first argument is a job/run/version id: every log
    line written while it runs carries `field`."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(object_id: int, *args: Any, **kwargs: Any) -> Any:
            _bound[field] = object_id
            try:
                return fn(object_id, *args, **kwargs)
            finally:
                _bound.pop(field, None)

        return wrapper

    return decorate


class JobContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, _bound.get(name))
        return True

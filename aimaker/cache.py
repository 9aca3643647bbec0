"""One Redis connection pool per process for Django's cache (named in CACHES OPTIONS).

Django's RedisCache keeps a pool per cache object, and cache objects are per thread; under
ASGI every request runs in a thread of its own, so every request opened new Redis connections
(each with a HELLO and CLIENT SETINFO round trip): about 1 ms of each prediction. redis-py
pools are thread-safe and reset themselves after a fork (RQ's work horses).
"""

from __future__ import annotations

import threading
from typing import Any

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple[str, str], redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:
        key = (url, repr(sorted(kwargs.items())))
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = super().from_url(url, **kwargs)
            return cls._shared[key]

"""Who the client is and how often it may do things: one client-IP rule for the whole app
(API throttles, the predict page, login lockouts, sign-ups) and a shared fixed-window counter."""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def client_ip(request: Any) -> str:
    """REMOTE_ADDR; behind AIMAKER_TRUSTED_PROXIES proxies, the address the outermost trusted
    proxy saw (the N-th X-Forwarded-For entry from the right, as DRF's NUM_PROXIES reads it).
    Entries left of that are the client's to write, so they are never believed. "" when there
    is no valid address (no request, or a proxy that wrote garbage)."""
    meta = getattr(request, "META", None) or {}
    address = meta.get("REMOTE_ADDR", "")
    proxies = settings.AIMAKER_TRUSTED_PROXIES
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if proxies > 0 and hops:
        address = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


def rate_limit_hit(*, key: str, limit: int, window: int) -> bool:
    """Count one hit for `key`; True while within `limit` hits per `window` seconds.
    A fixed window in the shared cache (Redis), so every server process counts together.
    With Redis down it lets the request through (fails open): a limit is not worth an outage."""
    cache_key = f"ratelimit:{key}:{int(time.time() // window)}"
    try:
        cache.add(cache_key, 0, timeout=window + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=window + 5)
            count = 1
    except RedisError:
        log.warning("rate limit %s not counted: the cache is unreachable", key)
        return True
    return count <= limit


def rate_limit_reached(*, key: str, limit: int, window: int) -> bool:
    """True when `key` already has `limit` hits in this window (counts nothing)."""
    try:
        count = cache.get(f"ratelimit:{key}:{int(time.time() // window)}") or 0
    except RedisError:
        return False
    return count >= limit

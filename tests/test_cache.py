import threading

from django.core.cache import cache, caches


def _pool():
    return caches["default"]._cache._get_connection_pool(write=True)


def test_it_shares_one_redis_pool_between_request_threads():
    # Under ASGI every request runs in a new thread with its own cache object: without a
    # shared pool each request opened new Redis connections.
    pools = []
    thread = threading.Thread(target=lambda: pools.append(_pool()))
    thread.start()
    thread.join()
    assert pools[0] is _pool()
    cache.set("shared-pool-check", 1, 5)
    assert cache.get("shared-pool-check") == 1

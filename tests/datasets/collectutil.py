"""A local Openverse for the web collection tests: paged API answers (real-shaped, from
provider_fixtures) with ids and image URLs unique per query, and the images themselves."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.datasets.imgutil import image_bytes
from tests.datasets.provider_fixtures import (
    API_PATHS,
    QueryParams,
    image_base,
    openverse_payload,
    provider_config,
)

PAGE_SIZE = 20  # Openverse's page size for anonymous clients


@contextmanager
def image_server_running() -> Iterator[HTTPServer]:
    """pytest-httpserver, threaded: parallel downloads must not queue behind a slow one."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def slug(query: str) -> str:
    return "-".join(query.lower().split())


def serve_openverse(
    server: HTTPServer,
    query: str,
    count: int,
    *,
    images: Callable[[int], bytes] | None = None,
    handlers: dict[int, Callable[[Request], Response]] | None = None,
    fail_from_page: int | None = None,
    delay: float = 0.0,
) -> list[dict]:
    """Answer `query` with `count` results over pages of 20, then an empty page; serve each
    image (distinct per query and index), or let handlers[index] answer for it. Pages from
    `fail_from_page` on answer HTTP 503. `delay` slows each image down like a real network."""
    base = image_base(server)
    seed0 = zlib.crc32(query.encode()) % 2000  # distinct bytes across queries
    make = images or (lambda i: image_bytes(seed0 + i))
    results: list[dict] = []
    pages = (count + PAGE_SIZE - 1) // PAGE_SIZE
    for page in range(1, pages + 2):
        matcher = QueryParams(q=query, page=page)
        if fail_from_page is not None and page >= fail_from_page:
            server.expect_request(API_PATHS["openverse"], query_string=matcher).respond_with_data(
                "upstream unavailable", status=503
            )
            continue
        n = max(0, min(PAGE_SIZE, count - (page - 1) * PAGE_SIZE))
        payload = openverse_payload(base, query, n, page=page, page_size=PAGE_SIZE)
        for j, result in enumerate(payload["results"]):
            i = (page - 1) * PAGE_SIZE + j
            result["id"] = f"{slug(query)}-{i}"
            result["url"] = f"{base}/images/{slug(query)}/{i}.jpg"
            result["title"] = f"{query} {i}"
            results.append(result)
        server.expect_request(API_PATHS["openverse"], query_string=matcher).respond_with_json(
            payload
        )
    for i, result in enumerate(results):
        request = server.expect_request(result["url"].removeprefix(base))
        if handlers and i in handlers:
            request.respond_with_handler(handlers[i])
        elif delay:
            request.respond_with_handler(_slow(make(i), delay))
        else:
            request.respond_with_data(make(i), content_type="image/jpeg")
    return results


def _slow(data: bytes, delay: float) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        time.sleep(delay)
        return Response(data, content_type="image/jpeg")

    return handler


def use_openverse(settings, server: HTTPServer) -> None:
    """Point the collector at `server` and let downloads reach it (loopback, test only)."""
    providers = {name: dict(config) for name, config in settings.AIMAKER_PROVIDERS.items()}
    providers["openverse"] = provider_config(server, "openverse")
    settings.AIMAKER_PROVIDERS = providers
    settings.AIMAKER_FETCH_ALLOW_LOOPBACK = True


@contextmanager
def collect_worker_running(server: HTTPServer, log_path, **extra_env: str) -> Iterator:
    """A real RQ worker on the `collect` queue whose Openverse is `server` (loopback allowed:
    the worker reads both from its environment, see aimaker/settings.py)."""
    from tests.conftest import WorkerProcess

    env = {
        "AIMAKER_FETCH_ALLOW_LOOPBACK": "1",
        "AIMAKER_PROVIDER_BASE_URL_OPENVERSE": server.url_for(API_PATHS["openverse"]),
        **extra_env,
    }
    worker = WorkerProcess(("collect",), log_path, env=env).start()
    try:
        yield worker
    finally:
        worker.stop()

